"""The terminal room adapter and the `writersroom` command line."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from bot.compose import App
from bot.settings import Settings
from bot.terminal import TerminalRoom, terminal_message
from tests.conftest import REPO, SHOW, run


def consoles() -> tuple[Console, io.StringIO, Console, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return (
        Console(file=out, width=200, color_system=None),
        out,
        Console(file=err, width=200, color_system=None),
        err,
    )


def test_lines_become_neutral_messages() -> None:
    msg = terminal_message("@bot who is Maren?", writer="dana", thread="t")
    assert msg.mentions_bot and msg.text == "who is Maren?" and msg.platform == "terminal"
    assert terminal_message("/beats x", writer="dana", thread="t").mentions_bot
    chatter = terminal_message("coffee?", writer="dana", thread="t")
    assert not chatter.mentions_bot and chatter.text == "coffee?"


def test_terminal_room_streams_answers_and_shows_errors(app: App) -> None:
    out_console, out, err_console, err = consoles()
    term = TerminalRoom(
        app.room, show=SHOW, writer="dana", thread="t", out=out_console, err=err_console
    )
    reply = run(term.send("@bot what happened to Toby?"))
    assert reply.kind == "answer"
    assert "room bot" in out.getvalue() and "drown" in out.getvalue()
    assert reply.citations and all(c.label in out.getvalue() for c in reply.citations)
    run(term.send("/frobnicate"))
    assert "no command 'frobnicate'" in err.getvalue()
    run(term.send("the cold open needs fog"))
    assert "said to the room" in out.getvalue()


def test_repl_runs_until_quit(app: App) -> None:
    out_console, out, err_console, _ = consoles()
    term = TerminalRoom(
        app.room, show=SHOW, writer="dana", thread="t", out=out_console, err=err_console
    )
    lines = iter(["/help", "/quit", "never read"])
    assert run(term.repl(lambda prompt: next(lines))) == 0
    assert "Commands:" in out.getvalue()


def cli(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "WR_DATA_DIR": str(settings.data_dir),
        "WR_MODEL_PATH": str(settings.model_path),
        "WR_MAX_TOKENS": "24",
        "WR_MAX_FIELD_CHARS": "30",
        "WR_N_CTX": "4096",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_help_and_usage_errors(settings: Settings) -> None:
    done = cli(settings, "--help")
    assert done.returncode == 0 and "chat" in done.stdout and "bible" in done.stdout
    assert cli(settings, "bible").returncode == 2


def test_cli_ask_json_on_first_run_ingests_the_sample(settings: Settings) -> None:
    done = cli(settings, "ask", "--json", "/logline", "a ferry captain hides a crate", "1")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["kind"] == "loglines" and len(data["loglines"]) == 1
    search = cli(settings, "bible", "search", "the fog bell rule", "--json", "-k", "2")
    rows = json.loads(search.stdout)
    assert len(rows) == 2 and {"file", "heading", "text", "score"} <= rows[0].keys()


def test_cli_failures_exit_non_zero_with_a_message(settings: Settings, tmp_path: Path) -> None:
    done = cli(settings, "ask", "hello", WR_MODEL_PATH=str(tmp_path / "missing.gguf"))
    assert done.returncode == 1
    assert "does not exist. Fix WR_MODEL_PATH" in done.stderr and "Traceback" not in done.stderr
    done = cli(settings, "bible", "search", "x", "--show", "nope-show")
    assert done.returncode == 1 and "no bible for the show 'nope-show'" in done.stderr


def test_cli_ingest_reports_malformed_files(settings: Settings, bible_copy: Path) -> None:
    bad = bible_copy / "characters/jun_park.md"
    bad.write_text("---\ntype: character\nname: [Jun\n---\n# Jun\n")
    done = cli(settings, "bible", "ingest", str(bible_copy), "--show", "copy-show")
    assert done.returncode == 0, done.stderr
    assert "28 files" in done.stderr and "1 skipped" in done.stderr
    assert "characters/jun_park.md:3" in done.stderr


@pytest.mark.parametrize("setting", ["WR_N_CTX=12", "WR_TEMPERATURE=hot"])
def test_cli_bad_setting_is_a_usage_error(settings: Settings, setting: str) -> None:
    key, value = setting.split("=")
    done = cli(settings, "bible", "shows", **{key: value})
    assert done.returncode == 2 and key in done.stderr


def test_cli_slack_without_tokens_says_what_to_set(settings: Settings) -> None:
    env = {"SLACK_BOT_TOKEN": "", "SLACK_APP_TOKEN": "", "SLACK_SIGNING_SECRET": ""}
    done = cli(settings, "slack", **env)
    assert done.returncode == 1 and "Set SLACK_APP_TOKEN" in done.stderr
    done = cli(settings, "slack", "--http", "--port", "0", **{**env, "SLACK_BOT_TOKEN": "xoxb-1"})
    assert done.returncode == 1 and "Set SLACK_SIGNING_SECRET" in done.stderr
    assert "xoxb-1" not in done.stderr + done.stdout


def test_cli_discord_without_a_token_says_what_to_set(settings: Settings) -> None:
    done = cli(settings, "discord", DISCORD_TOKEN="", WR_DISCORD_TOKEN="")
    assert done.returncode == 1 and "Set DISCORD_TOKEN" in done.stderr
