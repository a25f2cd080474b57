"""AMP command definitions shared by weft's interop scripts (mirror examples/amp-commands.ts)."""
from twisted.protocols import amp


class UnknownTransform(Exception):
    pass


class Sum(amp.Command):
    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]


class Divide(amp.Command):
    arguments = [(b"numerator", amp.Integer()), (b"denominator", amp.Integer())]
    response = [(b"result", amp.Float())]
    errors = {ZeroDivisionError: b"ZERO_DIVISION"}


class Echo(amp.Command):
    arguments = [(b"text", amp.Unicode())]
    response = [(b"text", amp.Unicode())]


class Transform(amp.Command):
    arguments = [(b"name", amp.Unicode()), (b"text", amp.Unicode())]
    response = [(b"text", amp.Unicode())]
    errors = {UnknownTransform: b"UNKNOWN_TRANSFORM"}


class Nope(amp.Command):
    """A command no server implements."""
    arguments = []
    response = []


TRANSFORMS = {
    "cummingsify": lambda text: text.lower(),
    "reverse": lambda text: text[::-1],
}


class CalcServer(amp.AMP):
    @Sum.responder
    def sum(self, a, b):
        return {"total": a + b}

    @Divide.responder
    def divide(self, numerator, denominator):
        return {"result": numerator / denominator}

    @Echo.responder
    def echo(self, text):
        return {"text": text}

    @Transform.responder
    def transform(self, name, text):
        fn = TRANSFORMS.get(name)
        if fn is None:
            raise UnknownTransform("no such transform: %s" % name)
        return {"text": fn(text)}
