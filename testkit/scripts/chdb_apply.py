"""Applies boxoffice's ClickHouse migrations and sample rows on a current ClickHouse release
(in-process, from PyPI's `chdb`), then reads every view. Input: a JSON file
{"statements": [...], "inserts": {"table": ["json row", ...]}, "views": [...], "also": [...]}.
Prints one `view<TAB>count` line per view; exits non-zero on any ClickHouse error."""
import json
import sys
import tempfile

from chdb import session

spec = json.load(open(sys.argv[1]))
with tempfile.TemporaryDirectory() as d:
    s = session.Session(d)
    s.query("CREATE DATABASE IF NOT EXISTS boxoffice")
    s.query("USE boxoffice")
    for st in spec["statements"]:
        s.query(st)
    for table, rows in spec["inserts"].items():
        s.query(f"INSERT INTO {table} FORMAT JSONEachRow\n" + "\n".join(rows))
    print("version\t" + str(s.query("SELECT version()", "TSV")).strip())
    for v in spec["views"] + spec.get("also", []):
        print(v + "\t" + str(s.query(f"SELECT count() FROM {v}", "TSV")).strip())
