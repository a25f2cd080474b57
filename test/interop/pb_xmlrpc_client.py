"""Python's xmlrpc.client against weft's calculator XML-RPC front-end: prints one line per check."""
import http.client
import sys
import xmlrpc.client

port = int(sys.argv[1])
proxy = xmlrpc.client.ServerProxy("http://127.0.0.1:%d/" % port)
print("calculate", proxy.calculate(42, 47))
print("calculate-big", proxy.calculate(2**30, 2**30))
for args in [(1,), (1.5, 2), ("a", "b")]:
    try:
        proxy.calculate(*args)
        print("params", "no fault")
    except xmlrpc.client.Fault as f:
        print("params", f.faultCode)
try:
    proxy.nosuch(1)
except xmlrpc.client.Fault as f:
    print("method", f.faultCode)
for body in [b"<methodCall><methodName>calculate", b"not xml at all", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><methodCall><methodName>&a;</methodName></methodCall>']:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("POST", "/", body, {"Content-Type": "text/xml"})
    resp = conn.getresponse()
    data = resp.read()
    try:
        xmlrpc.client.loads(data)
        print("malformed", resp.status, "no fault")
    except xmlrpc.client.Fault as f:
        print("malformed", resp.status, f.faultCode)
    conn.close()
print("after", proxy.calculate(1, 2))
