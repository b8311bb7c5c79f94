"""A current ClickHouse release (in-process, from PyPI's `chdb`) behind a loopback HTTP port
that speaks enough of ClickHouse's HTTP interface for boxoffice's writer: statements in the
POST body (`database`, `default_format` parameters), and inserts with the statement in the
`query` parameter and the rows in the body, LZ4-compressed in ClickHouse's block framing when
`decompress=1` (how the `clickhouse` crate sends RowBinary / RowBinaryWithNamesAndTypes).

chdb takes no input stream, so an insert's rows are written to a file and inserted with
`INSERT INTO t (cols) SELECT * FROM file(path, format)`. Usage: chdb_http.py PORT_FILE; prints
nothing, writes the port it listens on to PORT_FILE, serves until killed. A ClickHouse error
answers HTTP 500 with ClickHouse's message (`Code: N. DB::Exception: …`)."""
import os
import re
import struct
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from chdb import session

DATA = tempfile.mkdtemp(prefix="chdb-http-")
SESSION = session.Session(os.path.join(DATA, "db"))
LOCK = threading.Lock()


def lz4_block(src, size):
    """Decompresses one raw LZ4 block of `size` bytes (the format ClickHouse's method 0x82 uses)."""
    out = bytearray()
    i = 0
    while i < len(src):
        token = src[i]
        i += 1
        lit = token >> 4
        if lit == 15:
            while True:
                b = src[i]
                i += 1
                lit += b
                if b != 255:
                    break
        out += src[i:i + lit]
        i += lit
        if i >= len(src):
            break
        offset = src[i] | (src[i + 1] << 8)
        i += 2
        match = token & 15
        if match == 15:
            while True:
                b = src[i]
                i += 1
                match += b
                if b != 255:
                    break
        match += 4
        start = len(out) - offset
        for k in range(match):
            out.append(out[start + k])
    if len(out) != size:
        raise ValueError(f"LZ4 block: {len(out)} bytes, header says {size}")
    return bytes(out)


def decompress(body):
    """ClickHouse's compressed stream: blocks of checksum(16) method(1) csize(4) size(4) data."""
    out = bytearray()
    i = 0
    while i < len(body):
        method = body[i + 16]
        csize, size = struct.unpack_from("<II", body, i + 17)
        data = body[i + 25:i + 16 + csize]
        if method == 0x82:
            out += lz4_block(data, size)
        elif method == 0x02:
            out += data
        else:
            raise ValueError(f"compression method {method:#x} not supported by this test server")
        i += 16 + csize
    return bytes(out)


INSERT = re.compile(r"^\s*INSERT\s+INTO\s+(\S+?)\s*(\(.*\))?\s*FORMAT\s+(\w+)\s*$", re.I | re.S)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200, b"Ok.\n")

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                n = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if n == 0:
                    self.rfile.readline()
                    return bytes(out)
                out += self.rfile.read(n)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_POST(self):
        params = {k: v[-1] for k, v in parse_qs(urlparse(self.path).query).items()}
        body = self.body()
        try:
            with LOCK:
                result = self.run(params, body)
            self.answer(200, result)
        except Exception as e:  # chdb raises its own types; the message is ClickHouse's
            message = str(e)
            if "Code:" not in message:
                message = "Code: 1000. DB::Exception: " + message
            self.answer(500, message.encode())

    def run(self, params, body):
        database = params.get("database")
        if database:
            SESSION.query(f"USE {database}")
        else:
            SESSION.query("USE default")
        if "query" not in params:
            sql = body.decode()
            fmt = params.get("default_format", "TabSeparated")
            if re.match(r"^\s*(CREATE|DROP|ALTER|INSERT|USE|SET)\b", sql, re.I):
                SESSION.query(sql)
                return b""
            return SESSION.query(sql, fmt).bytes()
        if params.get("decompress") == "1":
            body = decompress(body)
        m = INSERT.match(params["query"])
        if not m:
            raise ValueError("only INSERT … FORMAT … is accepted with a `query` parameter")
        table, columns, fmt = m.group(1), m.group(2) or "", m.group(3)
        fd, path = tempfile.mkstemp(dir=DATA, suffix=".bin")
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        try:
            if fmt == "RowBinary":
                # No names in the data: the insert's column list, typed from the table.
                types = dict(
                    line.split("\t")[:2]
                    for line in SESSION.query(f"DESCRIBE TABLE {table}", "TSV").bytes().decode().splitlines()
                )
                names = [n.strip().strip("`") for n in columns.strip("()").split(",")] if columns else list(types)
                structure = ", ".join(f"`{n}` {types[n]}" for n in names)
                source = f"file('{path}', 'RowBinary', '{structure}')"
            else:
                source = f"file('{path}', '{fmt}')"
            SESSION.query(f"INSERT INTO {table} {columns} SELECT * FROM {source}")
        finally:
            os.unlink(path)
        return b""


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
