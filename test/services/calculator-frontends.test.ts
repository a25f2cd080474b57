/** The calculator's PB and XML-RPC front-ends and the PB, line and XML-RPC clients. */
import { request } from "node:http";
import { connect } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import type { ListeningPort } from "../../src/core/reactor.js";
import { CopiedFailure } from "../../src/protocols/pb/errors.js";
import { PBClientFactory } from "../../src/protocols/pb/factory.js";
import { CalculatorLineFactory } from "../../src/services/calculator/line.js";
import { CalculatorLineClient } from "../../src/services/calculator/line-client.js";
import { CalculatorPBFactory } from "../../src/services/calculator/pb.js";
import { CalculatorPBClient } from "../../src/services/calculator/pb-client.js";
import { CalculatorService } from "../../src/services/calculator/service.js";
import { CalculatorXmlRpcServer } from "../../src/services/calculator/xmlrpc.js";
import { CalculatorXmlRpcClient } from "../../src/services/calculator/xmlrpc-client.js";
import {
  methodCall,
  parseXmlRpc,
  XmlRpcDouble,
  XmlRpcFault,
  XmlRpcParseError,
} from "../../src/services/calculator/xmlrpc-codec.js";
import { closeAll, deadPort, endpoint, listen, reactor } from "./helpers.js";

const httpPorts: ListeningPort[] = [];
afterAll(async () => {
  await closeAll();
  for (const p of httpPorts) await p.stopListening({ closeConnections: true });
});

async function xmlrpcPort(options: ConstructorParameters<typeof CalculatorXmlRpcServer>[1] = {}) {
  const p = await new CalculatorXmlRpcServer(new CalculatorService(), options).listen({ port: 0 });
  httpPorts.push(p);
  return p.getHost().port;
}

function post(
  port: number,
  body: string,
  method = "POST",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path: "/" }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        data += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("calculator over PB", () => {
  it("answers (sum, id) on three ports with ids 0, 1, 2, through the PB client", async () => {
    const service = new CalculatorService();
    const ports = [
      await listen(new CalculatorPBFactory(service, { serverId: 0 })),
      await listen(new CalculatorPBFactory(service, { serverId: 1 })),
      await listen(new CalculatorPBFactory(service, { serverId: 2 })),
    ];
    const client = new CalculatorPBClient(ports.map(endpoint));
    try {
      const answers = await client.calculateAll(
        Array.from({ length: 4 }, (_, i) => [i, 1] as const),
      );
      expect(answers).toEqual([
        { result: 1, server: 0 },
        { result: 2, server: 1 },
        { result: 3, server: 2 },
        { result: 4, server: 0 },
      ]);
    } finally {
      client.close();
    }
  });

  it("refuses anything but two integers with an expected pb.Error", async () => {
    const port = await listen(new CalculatorPBFactory(new CalculatorService()));
    const f = new PBClientFactory();
    reactor.connectTCP("127.0.0.1", port, f);
    const root = await f.getRootObject();
    const err = await root.callRemote("calculate", "1", 2).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CopiedFailure);
    expect((err as CopiedFailure).expected).toBe(true);
    expect((err as CopiedFailure).message).toBe("calculate takes two integers");
    f.disconnect();
  });

  it("fails a call to a server that is down with the connect error", async () => {
    const client = new CalculatorPBClient([endpoint(await deadPort())], { timeout: 5 });
    await expect(client.calculate(1, 2)).rejects.toMatchObject({ code: "ERR_CONNECTION_REFUSED" });
    client.close();
  });
});

describe("calculator line client", () => {
  it("pipelines calculations on the line front-end", async () => {
    const port = await listen(new CalculatorLineFactory(new CalculatorService(), { serverId: 4 }));
    const client = new CalculatorLineClient([endpoint(port)]);
    try {
      expect(
        await client.calculateAll([
          [1, 2],
          [2n ** 60n, 2n ** 60n],
        ]),
      ).toEqual([
        { result: 3, server: 4 },
        { result: 2n ** 61n, server: 4 },
      ]);
    } finally {
      client.close();
    }
  });
});

describe("calculator over XML-RPC", () => {
  it("answers [sum, id] to the XML-RPC client, with big sums as <i8>", async () => {
    const port = await xmlrpcPort({ serverId: 3 });
    const client = new CalculatorXmlRpcClient([{ host: "127.0.0.1", port }]);
    try {
      expect(await client.calculate(42, 47)).toEqual({ result: 89, server: 3 });
      expect(await client.calculate(2 ** 31, 2 ** 31)).toEqual({ result: 2 ** 32, server: 3 });
      expect(await client.calculate(2n ** 70n, 0)).toEqual({ result: 2n ** 70n, server: 3 });
    } finally {
      client.close();
    }
  });

  it("answers faults for malformed XML, DOCTYPEs, other methods and bad arguments", async () => {
    const port = await xmlrpcPort();
    for (const [body, code] of [
      ["<methodCall>", -32700],
      ["<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'x'>]><methodCall/>", -32700],
      ["<methodResponse><params/></methodResponse>", -32700],
      [methodCall("nope", []), -32601],
      [methodCall("calculate", [1]), -32602],
      [methodCall("calculate", [new XmlRpcDouble(1.5), 2]), -32602],
      [methodCall("calculate", ["1", "2"]), -32602],
    ] as const) {
      const r = await post(port, body);
      expect(r.status).toBe(200);
      const doc = parseXmlRpc(r.body);
      expect(doc.fault).toBeInstanceOf(Map);
      expect((doc.fault as Map<string, unknown>).get("faultCode")).toBe(code);
    }
    const client = new CalculatorXmlRpcClient([{ host: "127.0.0.1", port }]);
    expect(await client.calculate(1, 1)).toEqual({ result: 2, server: 0 });
    client.close();
  });

  it("refuses GET (405) and a body over the limit (413)", async () => {
    const port = await xmlrpcPort({ maxBodyBytes: 100 });
    expect((await post(port, "", "GET")).status).toBe(405);
    expect((await post(port, "x".repeat(101))).status).toBe(413);
  });

  it("drops a client that does not finish its headers in time (408)", async () => {
    const port = await xmlrpcPort({ headersTimeout: 0.2, requestTimeout: 0.4 });
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(port, "127.0.0.1", () => s.write("POST / HTTP/1.1\r\nHost: x\r\n"));
      let data = "";
      s.on("data", (c) => {
        data += c.toString();
      });
      s.on("close", () => resolve(data));
      s.on("error", reject);
    });
    expect(reply).toMatch(/^HTTP\/1.1 408/);
  });

  it("parses values and rejects what is not XML-RPC", () => {
    const doc = parseXmlRpc(
      "<methodResponse><params><param><value><struct><member><name>a</name><value>text</value></member></struct></value></param></params></methodResponse>",
    );
    expect(doc.params).toEqual([new Map([["a", "text"]])]);
    expect(() => parseXmlRpc("<html/>")).toThrow(XmlRpcParseError);
    expect(() =>
      parseXmlRpc("<methodCall><methodName>x</methodName><bogus/></methodCall>"),
    ).toThrow(XmlRpcParseError);
    expect(new XmlRpcFault(1, "x").code).toBe("ERR_XMLRPC_FAULT");
  });
});
