"""check_report.py: checks a run's --json report and its --metrics-file against what the run
must have said; prints one "ok"/"not ok" line per check and exits 1 if one failed.

    check_report.py REPORT.json METRICS.prom COMMAND EXIT_STATUS [KEY=VALUE...] [-- PREVIOUS.prom]

KEY=VALUE: a member of the report that must equal VALUE (JSON: 3, "x", null, true). With
PREVIOUS.prom (the file before a failed run), the last success's instant must be carried over.
"""
import datetime
import json
import re
import sys
import time

failed = 0


def check(cond, what):
    global failed
    print(("ok - " if cond else "not ok - ") + what)
    failed += 0 if cond else 1


def parse_metrics(path):
    """The samples of a text-format file: {(name, labels): value}; checks HELP/TYPE lines."""
    samples, typed = {}, set()
    line_re = re.compile(r'^([a-z_]+)\{((?:[a-z]+="(?:[^"\\]|\\.)*",?)*)\} (\S+)$')
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# TYPE "):
                typed.add(line.split()[2])
                continue
            if line.startswith("# HELP "):
                continue
            m = line_re.match(line)
            check(m is not None, f"metrics line parses: {line!r}")
            if not m:
                continue
            check(m.group(1) in typed, f"{m.group(1)} has its TYPE line before it")
            labels = tuple(sorted(re.findall(r'([a-z]+)="((?:[^"\\]|\\.)*)"', m.group(2))))
            samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def main():
    args = sys.argv[1:]
    previous = None
    if "--" in args:
        previous = args[args.index("--") + 1]
        args = args[:args.index("--")]
    report_path, metrics_path, command, status = args[:4]
    status = int(status)
    with open(report_path) as f:
        lines = f.read().splitlines()
    check(len(lines) >= 1, "the report is on stdout")
    report = json.loads(lines[-1])
    for key in ("command", "ok", "exitStatus", "error", "start", "end", "seconds", "export",
                "dateExport", "firstSeq", "lastSeq", "storeLastSeq", "demands", "creates",
                "updates", "deletes", "archiveBytes", "downloadedBytes", "retries"):
        check(key in report, f"the report has {key}")
    check(report["command"] == command, f"command {report['command']}")
    check(report["ok"] == (status == 0), f"ok {report['ok']}")
    check(report["exitStatus"] == status, f"exitStatus {report['exitStatus']} (want {status})")
    check((report["error"] is None) == (status == 0), f"error {report['error']!r}")
    for kv in args[4:]:
        k, v = kv.split("=", 1)
        check(report.get(k) == json.loads(v), f"{k} = {report.get(k)!r} (want {v})")
    m = parse_metrics(metrics_path)
    c = (("command", command),)
    now = time.time()
    check(m.get(("snesync_run_success", c)) == (1 if status == 0 else 0), "snesync_run_success")
    check(m.get(("snesync_run_exit_status", c)) == status, "snesync_run_exit_status")
    end = m.get(("snesync_run_end_timestamp_seconds", c), 0)
    check(now - 120 < end <= now + 1, f"snesync_run_end_timestamp_seconds {end} is now")
    check(0 <= m.get(("snesync_run_duration_seconds", c), -1) < 120, "snesync_run_duration_seconds")
    last = m.get(("snesync_run_last_success_timestamp_seconds", c))
    if status == 0:
        check(last == end, "a success is the last success")
    elif previous:
        before = parse_metrics(previous).get(("snesync_run_last_success_timestamp_seconds", c))
        check(before is not None and last == before,
              f"the last success ({before}) is carried over by the failure ({last})")
    for op in ("create", "update", "delete"):
        got = m.get(("snesync_run_changes", tuple(sorted(c + (("op", op),)))))
        check(got == report[op + "s"], f"snesync_run_changes{{op={op}}} {got} = the report's")
    for name, key in (("snesync_run_demands", "demands"), ("snesync_store_last_seq", "storeLastSeq"),
                      ("snesync_run_archive_bytes", "archiveBytes"),
                      ("snesync_run_downloaded_bytes", "downloadedBytes"),
                      ("snesync_run_retries", "retries")):
        check(m.get((name, c)) == report[key], f"{name} {m.get((name, c))} = the report's {key}")
    date = m.get(("snesync_export_date_timestamp_seconds", c))
    if report["dateExport"]:
        want = datetime.datetime.fromisoformat(report["dateExport"]).timestamp()
        check(date == want, f"snesync_export_date_timestamp_seconds {date} (want {want})")
    print(f"# {failed} failed")
    return 1 if failed else 0


sys.exit(main())
