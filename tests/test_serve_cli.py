"""``feedguard serve`` / ``feedguard demo`` argument handling, and where settings come from."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.demo import app as demo_app
from feedguard_cli import app as feedguard_app
from serve.settings import Settings

runner = CliRunner()


def test_help_texts() -> None:
    result = runner.invoke(feedguard_app, ["serve", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "--host" in result.output
    result = runner.invoke(demo_app, ["--help"])
    assert result.exit_code == 0 and "--posts" in result.output


def test_bad_serve_arguments_exit_2_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDGUARD_HOME", str(tmp_path))
    result = runner.invoke(feedguard_app, ["serve", "--port", "70000"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "port" in lines[0]
    assert "Traceback" not in result.output


def test_bad_config_file_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('max_batch_posts = "many"\n', encoding="utf-8")
    monkeypatch.setenv("FEEDGUARD_CONFIG", str(config))
    result = runner.invoke(feedguard_app, ["serve"])
    assert result.exit_code == 2 and "max_batch_posts" in result.output and "Traceback" not in result.output


def test_bad_demo_arguments_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(demo_app, ["--posts", "0"])
    assert result.exit_code == 2 and "--posts" in result.output
    result = runner.invoke(demo_app, ["--feed", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 2 and "--feed" in result.output


def test_settings_precedence_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        'port = 9001\nbatch_wait_ms = 2.5\n[[api_keys]]\nname = "feed-team"\n'
        f'key_sha256 = "{"a" * 64}"\nscopes = ["score", "feed"]\n',
        encoding="utf-8",
    )
    monkeypatch.delenv("FEEDGUARD_CONFIG", raising=False)
    monkeypatch.delenv("FEEDGUARD_DATABASE_URL", raising=False)
    monkeypatch.setenv("FEEDGUARD_HOME", str(home))
    monkeypatch.setenv("FEEDGUARD_PORT", "9002")
    settings = Settings()
    assert settings.port == 9002  # environment beats the file
    assert settings.batch_wait_ms == 2.5  # the file beats the default
    assert settings.api_keys[0].scopes == ["score", "feed"]
    assert settings.sqlalchemy_url.endswith(str((home / "feedguard.db").resolve()))
    assert settings.state_dir == home / "state"


def test_settings_refuse_unsafe_or_unknown_values() -> None:
    with pytest.raises(ValueError, match="api_keys"):
        Settings(environment="production", local_key=False)
    with pytest.raises(ValueError, match="scopes"):
        Settings(api_keys=[{"name": "x", "key": "k" * 20, "scopes": ["admin"]}])
    with pytest.raises(ValueError, match="exactly one"):
        Settings(api_keys=[{"name": "x", "scopes": ["score"]}])
    with pytest.raises(ValueError, match="extra"):
        Settings(no_such_setting=1)
