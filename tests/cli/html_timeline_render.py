#!/usr/bin/env python3
"""The HTML timeline of a planted-bug failure renders in headless Chromium (issue 6).

    html_timeline_render.py TROUPE_BINARY

Finds the first failing seed of counter.bug_lost_increment, replays it with --html (and a jsonl
trace, from which the expected lanes are derived independently of the page), then:
  (a) --dump-dom after the page's script ran: the lane labels are exactly the run's processes
      and actors, in order, the failing check's lane is marked, and the failure banner shows the
      exact failure message and the check's simulated time;
  (b) --screenshot: decodes the PNG (zlib, no third-party modules) and finds the failure colour
      in the banner and across the lanes, and the lane labels' background and chip colours.
Exits 77 (ctest SKIP_RETURN_CODE) only when chromium is not installed, saying why.
"""
import html
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

SCENARIO = "counter.bug_lost_increment"
WIDTH, HEIGHT = 1200, 800
LABEL_WIDTH = 280  # --label-width in tools/troupe/html_timeline.css
FAILURE = (0xD9, 0x30, 0x25)  # kHtmlFailureColor, tools/troupe/html_timeline.h
LABEL_BACKGROUND = (0xF1, 0xF3, 0xF4)  # --label-bg
FAILING_LABEL_BACKGROUND = (0xFC, 0xE8, 0xE6)  # --fail-bg
PROCESS_CHIP = (0x1A, 0x73, 0xE8)  # --process
ACTOR_CHIP = (0x18, 0x80, 0x38)  # --actor


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def chromium_command(chromium, profile, *args):
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", "--force-device-scale-factor=1", "--user-data-dir=" + profile, *args]


def format_ms(ns):
    return "%d.%06d ms" % (ns // 1_000_000, ns % 1_000_000)


class DomReader(html.parser.HTMLParser):
    """Collects the lane labels (data-lane, data-kind, class, name) and texts by element id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.labels = []
        self.texts = {}
        self.attributes = {}
        self._stack = []  # (tag, id, is_lane_name)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if "lane-label" in classes:
            self.labels.append({"lane": attrs.get("data-lane"), "kind": attrs.get("data-kind"),
                                "failing": "failing" in classes, "name": ""})
        element_id = attrs.get("id")
        if element_id:
            self.attributes[element_id] = attrs
            self.texts.setdefault(element_id, "")
        if tag not in ("br", "input", "meta", "img"):
            self._stack.append((tag, element_id, "lane-name" in classes))

    def handle_endtag(self, tag):
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        for _, element_id, lane_name in self._stack:
            if element_id:
                self.texts[element_id] += data
            if lane_name:
                self.labels[-1]["name"] += data


def unfilter(kind, line, previous, channels):
    """PNG filters 1 (sub), 3 (average) and 4 (Paeth), byte by byte."""
    if kind == 1:
        for i in range(channels, len(line)):
            line[i] = (line[i] + line[i - channels]) & 0xFF
        return bytes(line)
    for i in range(len(line)):
        left = line[i - channels] if i >= channels else 0
        up = previous[i]
        if kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
            continue
        if kind != 4:
            fail("bad PNG filter %d" % kind)
        up_left = previous[i - channels] if i >= channels else 0
        p = left + up - up_left
        pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
        line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else up_left)) & 0xFF
    return bytes(line)


def decode_png(data):
    """RGB(A) 8-bit PNG -> (width, height, channels, rows of bytes)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("the screenshot is not a PNG")
    position, idat = 8, b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or color_type not in (2, 6) or interlace != 0:
                fail("unexpected PNG format: depth %d, colour type %d, interlace %d" % (depth, color_type, interlace))
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    channels = 4 if color_type == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytes(stride)
    low7 = int.from_bytes(b"\x7f" * stride, "big")
    high = int.from_bytes(b"\x80" * stride, "big")
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], raw[start + 1:start + 1 + stride]
        if kind == 2:  # up: bytewise (line + previous) mod 256, as whole-row integer arithmetic
            a, b = int.from_bytes(line, "big"), int.from_bytes(previous, "big")
            line = (((a & low7) + (b & low7)) ^ ((a ^ b) & high)).to_bytes(stride, "big")
        elif kind != 0:
            line = unfilter(kind, bytearray(line), previous, channels)
        rows.append(line)
        previous = line
    return width, height, channels, rows


def count_color(image, color, x0, y0, x1, y1):
    width, height, channels, rows = image
    target = bytes(color)
    n = 0
    x0, x1 = max(0, x0), min(width, x1)
    for y in range(max(0, y0), min(height, y1)):
        row = rows[y][x0 * channels:x1 * channels]
        if target not in row:
            continue
        n += sum(1 for i in range(0, len(row), channels) if row[i:i + 3] == target)
    return n


def first_row_with(image, color, x0, x1):
    for y in range(image[1]):
        if count_color(image, color, x0, y, x1, y + 1) > 0:
            return y
    return None


def main():
    if len(sys.argv) != 2:
        print("usage: html_timeline_render.py TROUPE_BINARY")
        return 2
    troupe = sys.argv[1]
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not chromium:
        print("SKIP: chromium is not installed (Debian package 'chromium'; tools/setup.sh installs it)")
        return 77
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="troupe_html_")

    sweep = subprocess.run([troupe, "run", SCENARIO, "--seeds", "1..100"], capture_output=True, text=True)
    found = re.search(r"^FAIL %s seed (\d+): (.*)$" % re.escape(SCENARIO), sweep.stdout, re.M)
    if sweep.returncode != 1 or not found:
        fail("no failing seed of %s in 1..100:\n%s%s" % (SCENARIO, sweep.stdout, sweep.stderr))
    seed, message = found.group(1), found.group(2)
    page, trace = os.path.join(work, "timeline.html"), os.path.join(work, "trace.jsonl")
    replay = subprocess.run([troupe, "replay", SCENARIO, "--seed", seed, "--html", page, "--trace", trace,
                             "--trace-format", "jsonl"], capture_output=True, text=True)
    if replay.returncode != 1 or ("outcome: FAILED: " + message + "\n") not in replay.stdout:
        fail("replay of seed %s did not fail the same way:\n%s%s" % (seed, replay.stdout, replay.stderr))
    if ("html: %s\n" % page) not in replay.stdout:
        fail("replay did not report the page:\n" + replay.stdout)
    with open(page, encoding="utf-8") as f:
        source = f.read()
    for external in ("http:", "https:", "src=", "href=", "url("):
        if external in source:
            fail("the page names an external resource (%r)" % external)

    # The lanes the run should have, from its jsonl trace: processes by id, each followed by the
    # actors that first came alive in it; the failing check's process.
    processes, actors, check = {}, {}, None
    with open(trace, encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            if event["kind"] == "process_start" and "process" in event and event["process"] not in processes:
                processes[event["process"]] = "p%d %s" % (event["process"], event["detail"])
            if event["kind"] == "actor_alive" and event["actor"] not in actors:
                actors[event["actor"]] = (event["process"], event["detail"].split(" ")[0])
            if event["kind"] == "check" and event["detail"] == message and check is None:
                check = event
    if check is None:
        fail("the trace has no check event with the failure message")
    expected = []
    for process in sorted(processes):
        expected.append(("process", "p%d" % process, processes[process]))
        hosted = [a for a, (host, _) in actors.items() if host == process]
        for actor in sorted(hosted, key=lambda a: tuple(int(part) for part in a[1:].split("."))):
            expected.append(("actor", actor, "%s %s" % (actor, actors[actor][1])))

    # (a) The DOM after the script ran.
    dom = subprocess.run(chromium_command(chromium, tempfile.mkdtemp(dir=work), "--window-size=%d,%d" % (WIDTH, HEIGHT),
                                          "--dump-dom", "file://" + page),
                         capture_output=True, text=True, timeout=60)
    reader = DomReader()
    reader.feed(dom.stdout)
    if reader.attributes.get("app", {}).get("data-rendered") != "true":
        fail("the page's script did not finish rendering:\n" + dom.stdout[-2000:] + dom.stderr[-2000:])
    got = [(label["kind"], label["lane"], label["name"]) for label in reader.labels]
    if got != expected:
        fail("lanes differ:\n  got      %s\n  expected %s" % (got, expected))
    failing = [label["lane"] for label in reader.labels if label["failing"]]
    if failing != ["p%d" % check["process"]]:
        fail("the failing lane is %s, expected p%d" % (failing, check["process"]))
    if reader.texts.get("failure-message") != message:
        fail("the failure banner says %r, expected %r" % (reader.texts.get("failure-message"), message))
    if reader.texts.get("failure-time") != format_ms(check["t_ns"]):
        fail("the failure time is %r, expected %r" % (reader.texts.get("failure-time"), format_ms(check["t_ns"])))
    summary = "%d lanes" % len(expected)
    if not reader.texts.get("summary", "").startswith(summary):
        fail("the lane summary is %r, expected it to start with %r" % (reader.texts.get("summary"), summary))

    # (b) The screenshot.
    shot = os.path.join(work, "timeline.png")
    subprocess.run(chromium_command(chromium, tempfile.mkdtemp(dir=work), "--window-size=%d,%d" % (WIDTH, HEIGHT),
                                    "--screenshot=" + shot, "file://" + page),
                   capture_output=True, text=True, timeout=60)
    if not os.path.exists(shot):
        fail("chromium wrote no screenshot")
    with open(shot, "rb") as f:
        image = decode_png(f.read())
    if image[:2] != (WIDTH, HEIGHT):
        fail("the screenshot is %dx%d, expected %dx%d" % (image[0], image[1], WIDTH, HEIGHT))
    # Where the lanes begin: the first row of the labels' background in the label column.
    lanes_top = first_row_with(image, LABEL_BACKGROUND, 0, LABEL_WIDTH - 10)
    if lanes_top is None:
        fail("no lane label background %s in the label column" % (LABEL_BACKGROUND,))
    counts = {
        "failure colour in the banner": (count_color(image, FAILURE, 0, 0, WIDTH, lanes_top), 200),
        "failure line across the lanes": (count_color(image, FAILURE, LABEL_WIDTH + 5, lanes_top + 40, WIDTH, HEIGHT),
                                          HEIGHT - lanes_top - 60),
        "label background": (count_color(image, LABEL_BACKGROUND, 0, lanes_top, LABEL_WIDTH, HEIGHT), 20000),
        "failing label background": (count_color(image, FAILING_LABEL_BACKGROUND, 0, lanes_top, LABEL_WIDTH, HEIGHT),
                                     2000),
        "process chips": (count_color(image, PROCESS_CHIP, 0, lanes_top, LABEL_WIDTH, HEIGHT),
                          60 * len(processes)),
        "actor chips": (count_color(image, ACTOR_CHIP, 0, lanes_top, LABEL_WIDTH, HEIGHT), 40 * len(actors)),
    }
    for what, (count, least) in counts.items():
        print("%s: %d pixels (at least %d)" % (what, count, least))
        if count < least:
            fail("too few pixels of the %s" % what)
    print("ok: %s seed %s, %d lanes, failure %r at %s; %.1f s" %
          (SCENARIO, seed, len(expected), message, format_ms(check["t_ns"]), time.monotonic() - started))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
