"""The `credit-assistant` command. Every failure is one sentence on stderr and an exit code of the
contract (2 usage or bad input, 3 invalid knowledge base, 4 export failed), never a traceback.

Imports are deferred to the command that needs them: `ask` never imports Textual or pydantic.
"""

from __future__ import annotations

import argparse
import os
import sys

from .errors import AssistantError, UsageError

PROG = "credit-assistant"
EXAMPLES = """examples:
  credit-assistant ask "借呗为什么被关了"
  credit-assistant ask --fact alipay_activity=low "芝麻分630从未逾期,借呗被关了"
  credit-assistant ask --what-if other_debt=none --format json "网贷好几个,借呗额度没了"
  echo "my jiebei was closed, never late" | credit-assistant ask --format markdown
  credit-assistant ask --export advice.md "借呗额度从5万降到5000"
  credit-assistant chat"""


BATCH_NOTES = """input lines (JSON, UTF-8; blank lines are skipped):
  {"question": "借呗为什么被关了", "facts": {"sesame_score": 630}, "what_if": {"other_debt": "none"}, "lang": "zh"}
  question is required; facts, what_if (fact key -> value) and lang (auto|zh|en) are optional.
output lines, one per input line that is not blank, in order:
  the Advice that `ask --format json` prints, on one line (json.dumps, ensure_ascii=False), or
  {"line": N, "error": "one sentence"} for a line that cannot be answered; the rest goes on.
exit status: 0 when every line got its output line (errors are counted on stderr),
  2 bad usage or unreadable input, 3 invalid knowledge base, 4 output file not written.
examples:
  credit-assistant batch cases.jsonl -o answers.jsonl
  cat cases.jsonl | credit-assistant batch - --jobs 4 > answers.jsonl"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one sentence and exit 2."""

    def error(self, message: str):
        raise UsageError(f"{message[0].upper()}{message[1:]} (see `{self.prog} --help`).")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
                description="借呗解读助手: explains why a 借呗 (Jiebei) credit line was closed or cut, "
                            "offline, from a sourced knowledge base and your own facts.",
                epilog=EXAMPLES)
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    chat = sub.add_parser("chat", help="the interactive chat (the default)",
                          description="Start the interactive chat in the terminal.")
    chat.add_argument("--resume", action="store_true", help="continue the last saved conversation")
    chat.add_argument("--no-save", action="store_true", help="do not save the conversation")
    chat.add_argument("--lang", choices=["auto", "zh", "en"], default="auto",
                      help="interface and answer language (default: the conversation's)")
    _kb_option(chat)

    ask = sub.add_parser("ask", help="one answer, printed, then exit",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         description="Answer one question and exit. Without QUESTION, or with -, "
                                     "the question is read from standard input.",
                         epilog=EXAMPLES)
    ask.add_argument("question", nargs="*", metavar="QUESTION", help="the question (words are joined)")
    ask.add_argument("--fact", action="append", default=[], metavar="KEY=VALUE",
                     help="state a fact, e.g. --fact sesame_score=630 (repeatable)")
    ask.add_argument("--what-if", action="append", default=[], metavar="KEY=VALUE",
                     help="recompute with a changed fact, e.g. --what-if other_debt=none (repeatable)")
    ask.add_argument("--lang", choices=["auto", "zh", "en"], default="auto",
                     help="answer language (default: the question's)")
    ask.add_argument("--format", choices=["text", "markdown", "json"], default="text",
                     help="output format (default: text)")
    ask.add_argument("--export", metavar="PATH", help="also write the advice as a Markdown document")
    ask.add_argument("--force", action="store_true", help="overwrite an existing export")
    ask.add_argument("--all-causes", action="store_true",
                     help="list every cause with points, not only the principal ones")
    _kb_option(ask)

    kb = sub.add_parser("kb", help="check or list the knowledge base",
                        description="Validate or list a knowledge base.")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="ACTION", parser_class=_Parser, required=True)
    check = kb_sub.add_parser("check", help="validate; list every problem as FILE: PATH: message")
    _kb_option(check)
    listing = kb_sub.add_parser("list", help="print the whole validated knowledge base")
    listing.add_argument("--format", choices=["text", "json"], default="text")
    _kb_option(listing)

    ev = sub.add_parser("eval", help="score the matcher on a labelled question file",
                        description="Score topic matching on a YAML list of {text, topic} items "
                                    "(topic: an id, a list of ids, or null for out of scope).")
    ev.add_argument("file", metavar="FILE")
    ev.add_argument("--format", choices=["text", "json"], default="text")
    _kb_option(ev)

    batch = sub.add_parser("batch", help="answer many questions: JSON lines in, Advice JSON lines out",
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           description="Read one {\"question\": …, \"facts\": {…}} per line and write one "
                                       "Advice JSON per line, in order.",
                           epilog=BATCH_NOTES)
    batch.add_argument("input", metavar="IN.jsonl", help="input file, or - for standard input")
    batch.add_argument("-o", "--output", metavar="OUT.jsonl", help="output file (default: standard output)")
    batch.add_argument("--force", action="store_true", help="overwrite an existing output file")
    batch.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (default: all cores)")
    _kb_option(batch)
    return p


def _kb_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kb", metavar="DIR", help="use the knowledge base in DIR instead of the shipped one")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Bare `credit-assistant` (or with chat options only) is the chat.
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["chat", *argv]
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except AssistantError as exc:
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _error("Interrupted.")
        return 130
    except BrokenPipeError:
        # the reader went away (`| head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _error(sentence: str) -> None:
    print(f"{PROG}: {sentence}", file=sys.stderr)


# ------------------------------------------------------------------ commands

def cmd_ask(args) -> int:
    from .core import Assistant
    from .extract import parse_assignment

    question = " ".join(args.question).strip()
    if not args.question or question == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("Give a question, e.g. credit-assistant ask \"借呗为什么被关了\", or pipe one in.")
        question = sys.stdin.read()
    if not question.strip():
        raise UsageError("The question is empty; ask something, e.g. \"借呗为什么被关了\".")
    if args.force and not args.export:
        raise UsageError("--force only applies with --export PATH.")
    bot = Assistant.load(args.kb)
    facts = dict(_assignments(bot, parse_assignment, args.fact, "--fact"))
    what_if = dict(_assignments(bot, parse_assignment, args.what_if, "--what-if"))
    advice = bot.advise(question, facts=facts, lang=args.lang, what_if=what_if or None,
                        all_causes=args.all_causes)
    if args.export:
        from .export import write_private

        write_private(args.export, bot.renderer.render("export", advice), force=args.force)
    _print_advice(bot, advice, args.format)
    return 0


def _assignments(bot, parse, items: list[str], option: str):
    for item in items:
        try:
            yield parse(bot.kb, item)
        except ValueError as exc:
            raise UsageError(f"{option} {item}: {exc}.") from None


def _print_advice(bot, advice: dict, fmt: str) -> None:
    if fmt == "json":
        import json

        sys.stdout.write(json.dumps(advice, ensure_ascii=False, indent=2) + "\n")
    elif fmt == "markdown":
        sys.stdout.write(bot.renderer.render("markdown", advice))
    elif _rich_terminal():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(bot.renderer.render("markdown", advice)))
    else:
        sys.stdout.write(advice["answer"])


def _rich_terminal() -> bool:
    """Styled output only for a person at a terminal: never when piped or NO_COLOR is set."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def cmd_kb(args) -> int:
    from . import knowledge
    from .errors import KnowledgeBaseError

    root = knowledge.resolve_dir(args.kb)
    if args.kb_command == "check":
        try:
            kb = knowledge.build(root)
        except KnowledgeBaseError as exc:
            if not exc.problems:
                raise
            for line in exc.problems:
                print(line)
            raise KnowledgeBaseError(f"{len(exc.problems)} problem(s) in the knowledge base in {root}.") from None
        print(f"OK: {root}: {len(kb.topics)} topics, {len(kb.causes)} causes, {len(kb.remedies)} remedies, "
              f"{len(kb.impacts)} impacts, {len(kb.lessons)} lessons, {len(kb.facts)} facts, "
              f"{len(kb.sources)} sources.")
        return 0
    kb = knowledge.load(root)
    listing = kb.listing()
    if args.format == "json":
        import json

        print(json.dumps(listing, ensure_ascii=False, indent=2))
    else:
        for kind, entries in listing.items():
            print(f"{kind} ({len(entries)})")
            for e in entries:
                title = e.get("title")
                title = f"{title['zh']} / {title['en']}" if isinstance(title, dict) else (title or "")
                print(f"  {e['id']:<26} {title}")
    return 0


def cmd_eval(args) -> int:
    from .core import Assistant
    from .evaluate import evaluate, format_report, load_cases

    cases = load_cases(args.file)
    report = evaluate(Assistant.load(args.kb), cases)
    if args.format == "json":
        import json

        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
    return 0


def cmd_chat(args) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("The chat needs a terminal; for scripts and pipes use "
                         "`credit-assistant ask \"your question\"`.")
    from .core import Assistant
    from .tui import run_chat

    return run_chat(Assistant.load(args.kb), resume=args.resume, save=not args.no_save, lang=args.lang)


def cmd_batch(args) -> int:
    from .batch import run_batch

    return run_batch(args)


COMMANDS = {"ask": cmd_ask, "kb": cmd_kb, "eval": cmd_eval, "chat": cmd_chat, "batch": cmd_batch}
