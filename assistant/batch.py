"""`credit-assistant batch`: many questions at once, for support teams triaging cases.

Input: JSON Lines (UTF-8), one object per line::

    {"question": "芝麻分630从未逾期,借呗被关了", "facts": {"alipay_activity": "low"}}
    {"question": "my jiebei was closed", "lang": "en", "what_if": {"other_debt": "none"}}

`question` (text) is required; `facts` and `what_if` (objects of fact key → value, as `--fact` and
`--what-if` take them, JSON numbers and booleans welcome) and `lang` (`auto`, `zh` or `en`) are
optional; other keys are ignored. Lines holding only white space are skipped.

Output: JSON Lines, exactly one line per input line that is not blank, in input order. A line
answered is the Advice that `ask --format json` prints for the same question, facts, what-if and
language, on one line: ``json.dumps(advice, ensure_ascii=False)`` (no indent, `", "` and `": "`
separators, non-ASCII kept as is), then ``\\n``. The question is stripped of surrounding white
space, as `ask` does with its arguments. A line that cannot be answered (not JSON, not an object,
no question, an unknown fact or a bad value) becomes an error record in its place::

    {"line": 7, "error": "Line 7 is not valid JSON (Expecting value at column 1)."}

where `line` is the 1-based line number in the input; the other lines are answered as usual.

Exit status: 0 when every line was read and given an output line, error records included (a
summary on stderr counts them); 2 for bad usage or an unreadable input; 3 for an invalid knowledge
base; 4 when the output file cannot be written (it is never left half-written, and an existing one
is kept unless `--force`). With `-o`, the output is written atomically with mode 0600 once all
lines are done (so it is held in memory until then); without it, lines stream to stdout in order.

Work is spread over all cores (`--jobs N` to choose): forked worker processes, each with the
assistant loaded once, answer chunks of lines; the executor's `map` keeps the input order. A
worker that dies (killed, out of memory) ends the run with exit 1 and a sentence saying how far it
got. Small inputs are answered in this process, where starting workers would cost more than it
saves.
"""

from __future__ import annotations

import json
import os
import sys
import time

from .errors import AssistantError, UsageError

# Below this many lines, one process answers faster than a pool can start.
SERIAL_BELOW = 48
# Lines handed to a worker at a time: large enough to amortise the hand-over, small enough to
# keep every worker busy until the end and the progress bar moving.
MAX_CHUNK = 64

_BOT = None   # the worker's assistant (set by _init_worker, or by run_serial)


# --------------------------------------------------------------------- one line

def answer_line(bot, number: int, raw: str | None) -> str:
    """The output line (without the newline) for input line `number`: Advice JSON or an error
    record. Never raises for anything the line holds."""
    try:
        if raw is None:
            raise _LineError(f"Line {number} is not UTF-8 text.")
        return json.dumps(_advise(bot, number, raw), ensure_ascii=False)
    except _LineError as exc:
        return _error_record(number, str(exc))
    except AssistantError as exc:
        return _error_record(number, f"Line {number}: {_sentence(str(exc))}")
    except RecursionError:
        return _error_record(number, f"Line {number} is nested too deeply to read.")
    except Exception as exc:  # a bug of ours: report it on this line, go on with the rest
        return _error_record(number, f"Line {number} could not be answered "
                                     f"(internal error: {type(exc).__name__}).")


class _LineError(Exception):
    pass


def _advise(bot, number: int, raw: str) -> dict:
    try:
        record = json.loads(raw)
    except ValueError as exc:
        why = getattr(exc, "msg", None)
        where = f" at column {exc.colno}" if hasattr(exc, "colno") else ""
        detail = f" ({why}{where})" if why else ""
        raise _LineError(f"Line {number} is not valid JSON{detail}.") from None
    if not isinstance(record, dict):
        raise _LineError(f"Line {number} must be a JSON object with a \"question\", "
                         f"not {_json_kind(record)}.")
    question = record.get("question")
    if question is None:
        raise _LineError(f"Line {number} has no \"question\".")
    if not isinstance(question, str):
        raise _LineError(f"Line {number}: \"question\" must be text, not {_json_kind(question)}.")
    question = question.strip()
    if not question:
        raise _LineError(f"Line {number}: the question is empty.")
    facts = _mapping(record, "facts", number)
    what_if = _mapping(record, "what_if", number)
    lang = record.get("lang", "auto")
    if lang is None:
        lang = "auto"
    if lang not in ("auto", "zh", "en"):
        raise _LineError(f"Line {number}: \"lang\" must be \"auto\", \"zh\" or \"en\", not "
                         f"{_short(lang)}.")
    return bot.advise(question, facts=facts, lang=lang, what_if=what_if or None)


def _mapping(record: dict, key: str, number: int) -> dict:
    value = record.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _LineError(f"Line {number}: \"{key}\" must be an object of fact key to value, "
                         f"not {_json_kind(value)}.")
    return value


def _json_kind(value) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _sentence(text: str) -> str:
    """An error's sentence to follow "Line N: " (its first letter lowered unless an acronym)."""
    text = text.strip()
    if text[:1].isupper() and not text[1:2].isupper():
        text = text[0].lower() + text[1:]
    return text if text.endswith((".", "!", "?", "。")) else text + "."


def _error_record(number: int, message: str) -> str:
    return json.dumps({"line": number, "error": message}, ensure_ascii=False)


# --------------------------------------------------------------------- workers

def _init_worker(kb_dir) -> None:
    """Runs once in each worker: the assistant loaded once (inherited from the parent when the
    worker is forked after the parent loaded it), Ctrl+C left to the parent."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _BOT
    if _BOT is None:
        from .core import Assistant

        _BOT = Assistant.load(kb_dir)


def _work(item: tuple[int, str | None]) -> str:
    return answer_line(_BOT, *item)


def answers(bot, kb_dir, items: list[tuple[int, str | None]], jobs: int):
    """The output lines for `items` ((line number, text) pairs), in order, as they are done."""
    global _BOT
    if jobs <= 1 or len(items) < SERIAL_BELOW:
        for number, raw in items:
            yield answer_line(bot, number, raw)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:      # no fork on this platform: one process, still correct
        ctx = None
    if ctx is None:
        for number, raw in items:
            yield answer_line(bot, number, raw)
        return
    _BOT = bot              # forked workers inherit it instead of loading it again
    chunk = max(1, min(MAX_CHUNK, len(items) // (jobs * 8)))
    try:
        pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(kb_dir,))
    except OSError:         # no processes or semaphores to be had: one process
        for number, raw in items:
            yield answer_line(bot, number, raw)
        return
    done = 0
    try:
        # unlike multiprocessing.Pool.imap, which waits forever for a worker that was killed
        # (out of memory, kill -9), the executor reports a lost worker
        for line in pool.map(_work, items, chunksize=chunk):
            done += 1
            yield line
    except BrokenProcessPool:
        raise AssistantError(f"A worker process stopped unexpectedly after {done} of {len(items)} "
                             "questions (killed, or out of memory?); run again, or with --jobs 1.") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------- progress

class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    WIDTH = 30

    def __init__(self, total: int, stream):
        self.total, self.stream = total, stream
        self.done = 0
        self.start = self._last = time.monotonic()

    def advance(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self._last >= 0.1 or self.done == self.total:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        share = self.done / self.total if self.total else 1.0
        filled = int(share * self.WIDTH)
        rate = self.done / max(now - self.start, 1e-9)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                          f"{self.done}/{self.total} {share:4.0%} {rate:,.0f} q/s ")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r\x1b[2K")
        self.stream.flush()


# --------------------------------------------------------------------- the command

def read_items(source: str) -> list[tuple[int, str | None]]:
    """(line number, text) for every line of the input that is not blank; text is None for a
    line that is not UTF-8 (it becomes an error record)."""
    try:
        if source == "-":
            if sys.stdin is None:
                raise UsageError("No standard input to read the questions from.")
            buffer = getattr(sys.stdin, "buffer", None)
            data = buffer.read() if buffer is not None else sys.stdin.read().encode("utf-8")
        else:
            with open(source, "rb") as fh:
                data = fh.read()
    except FileNotFoundError:
        raise UsageError(f"The input file {source} does not exist.") from None
    except IsADirectoryError:
        raise UsageError(f"The input {source} is a directory; give a JSON Lines file.") from None
    except OSError as exc:
        raise UsageError(f"Could not read {source}: {exc.strerror or exc}.") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    items = []
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        items.append((number, text))
    return items


def run_batch(args) -> int:
    from .core import Assistant

    jobs = args.jobs if args.jobs else _cores()
    if jobs < 0:
        raise UsageError("--jobs must be a positive number of worker processes.")
    if args.force and not args.output:
        raise UsageError("--force only applies with -o/--output FILE.")
    if args.output:
        from .export import check_target

        check_target(args.output, args.force)     # fail before the work, not after it
    items = read_items(args.input)
    bot = Assistant.load(args.kb)

    stderr = sys.stderr
    progress = Progress(len(items), stderr) if items and stderr is not None and stderr.isatty() else None
    out = sys.stdout if not args.output else None
    lines: list[str] = []
    errors: list[int] = []
    started = time.monotonic()
    try:
        for i, line in enumerate(answers(bot, args.kb, items, jobs)):
            if line.startswith('{"line": '):
                errors.append(items[i][0])
            if out is not None:
                out.write(line + "\n")
            else:
                lines.append(line)
            if progress:
                progress.advance()
    finally:
        if progress:
            progress.close()
    if out is not None:
        out.flush()
    else:
        from .export import write_private

        write_private(args.output, "".join(line + "\n" for line in lines), force=args.force)
    _summary(len(items), errors, time.monotonic() - started, args.output)
    return 0


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _summary(total: int, errors: list[int], seconds: float, output: str | None) -> None:
    if sys.stderr is None:
        return
    where = f" to {output}" if output else ""
    text = f"credit-assistant: {total - len(errors)} of {total} line(s) answered{where}"
    if errors:
        shown = ", ".join(map(str, errors[:10])) + (", …" if len(errors) > 10 else "")
        text += f"; {len(errors)} error record(s) (line {shown})"
    sys.stderr.write(f"{text} in {seconds:.1f} s.\n")
