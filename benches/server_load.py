#!/usr/bin/env python3
"""Load benchmark of `gijiroku serve` (prints figures; not a test).

Starts the server on a free port with a fresh archive, signs in 20 browser-less clients that
poll job progress (GET /api/jobs/N) and the meetings list without pause, uploads one recording
per second for a minute, then waits for every job. Prints p50/p95/p99 latency of the polls and
the worker's throughput next to the CLI's `transcribe` on the same file with the same model.

    python3 benches/server_load.py [--file recordings/jfk-inaugural-1961.wav] [--model whisper-tiny.en]

Standard library only; everything stays on 127.0.0.1.
"""
import argparse, json, os, subprocess, sys, tempfile, threading, time, urllib.request, uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "gijiroku")


def request(url, method="GET", body=None, headers=None, cookie=None, csrf=None):
    h = dict(headers or {})
    if cookie:
        h["Cookie"] = cookie
    if csrf and method != "GET":
        h["X-CSRF-Token"] = csrf
    req = urllib.request.Request(url, data=body, method=method, headers=h)
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.status, r.headers, r.read()


def login(base, user, password):
    _, h, b = request(base + "/api/login", "POST", json.dumps({"user": user, "password": password}).encode(),
                      {"Content-Type": "application/json"})
    return h["Set-Cookie"].split(";")[0], json.loads(b)["csrf"]


def multipart(fields, name, data):
    boundary = "----bench" + uuid.uuid4().hex
    out = b""
    for k, v in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    out += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'.encode()
    out += data + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default=os.path.join(ROOT, "recordings", "jfk-inaugural-1961.wav"))
    ap.add_argument("--model", default="whisper-tiny.en")
    ap.add_argument("--language", default="en")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=60)
    a = ap.parse_args()
    models = os.environ.get("GIJIROKU_MODELS", os.path.join(ROOT, "models"))
    data_dir = tempfile.mkdtemp(prefix="gijiroku-bench-")
    env = dict(os.environ, GIJIROKU_MODELS=models, GIJIROKU_DATA=data_dir)
    pw = "bench-" + uuid.uuid4().hex
    subprocess.run([BIN, "users", "add", "bench", "--role", "admin", "--password-stdin"], input=(pw + "\n").encode(),
                   env=env, check=True, stdout=subprocess.DEVNULL)
    srv = subprocess.Popen([BIN, "serve", "--addr", "127.0.0.1:0"], env=env, stdout=subprocess.PIPE)
    try:
        base = srv.stdout.readline().decode().strip().replace("listening on ", "")
        cookie, csrf = login(base, "bench", pw)
        audio = open(a.file, "rb").read()
        job_ids, lat, errors = [], [], [0]
        stop = threading.Event()
        lock = threading.Lock()

        def poller(i):
            ck, _ = login(base, "bench", pw)
            n = 0
            while not stop.is_set():
                with lock:
                    jid = job_ids[-1] if job_ids else None
                path = f"/api/jobs/{jid}" if jid and n % 2 == 0 else "/api/meetings"
                t = time.perf_counter()
                try:
                    request(base + path, cookie=ck)
                    with lock:
                        lat.append(time.perf_counter() - t)
                except Exception:
                    with lock:
                        errors[0] += 1
                n += 1

        threads = [threading.Thread(target=poller, args=(i,)) for i in range(a.clients)]
        for t in threads:
            t.start()
        t0 = time.time()
        for k in range(a.seconds):
            ct, body = multipart({"kind": "committee", "language": a.language, "model": a.model,
                                  "title": f"bench {k}"}, f"bench-{k}.wav", audio)
            _, _, b = request(base + "/api/jobs", "POST", body, {"Content-Type": ct}, cookie, csrf)
            with lock:
                job_ids.append(json.loads(b)["job"]["id"])
            time.sleep(max(0, t0 + k + 1 - time.time()))
        stop.set()
        for t in threads:
            t.join()
        polls = len(lat)
        print(f"{a.clients} clients polling for {a.seconds} s while uploading 1 recording/s: {polls} requests "
              f"({polls / a.seconds:.0f}/s), {errors[0]} errors; latency p50 {pct(lat, 50) * 1e3:.1f} ms, "
              f"p95 {pct(lat, 95) * 1e3:.1f} ms, p99 {pct(lat, 99) * 1e3:.1f} ms")
        # Worker throughput: from the first job's start to the last job's end.
        while True:
            _, _, b = request(base + "/api/jobs", cookie=cookie)
            jobs = json.loads(b)
            if all(j["state"] in ("done", "failed") for j in jobs):
                break
            time.sleep(1)
        failed = [j for j in jobs if j["state"] == "failed"]
        from datetime import datetime
        ts = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
        starts = [ts(j["started_at"]) for j in jobs if j.get("started_at")]
        ends = [ts(j["finished_at"]) for j in jobs if j.get("finished_at")]
        span = max(ends) - min(starts)
        per_job = span / len(jobs)
        print(f"worker: {len(jobs)} jobs ({len(failed)} failed) in {span:.0f} s = {per_job:.2f} s per recording "
              f"(transcribe + diarize + minutes + archive)")
    finally:
        srv.terminate()
        srv.wait()
    # The CLI on the same file, same model, three runs.
    times = []
    out = tempfile.mkdtemp()
    for _ in range(3):
        t = time.time()
        subprocess.run([BIN, "--quiet", "transcribe", "--diarize", "-l", a.language, "-m", a.model, "-o", out, a.file],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.time() - t)
    print(f"CLI transcribe --diarize on the same file: {min(times):.2f}–{max(times):.2f} s per recording "
          f"(worker/CLI = {per_job / (sum(times) / 3):.2f})")


if __name__ == "__main__":
    sys.exit(main())
