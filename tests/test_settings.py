"""Settings: sources, precedence, paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from nornir_peering.errors import ConfigError
from nornir_peering.settings import load_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def env_with(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home), **extra}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


class TestPrecedence:
    def test_defaults_are_the_public_peeringdb(self, home: Path) -> None:
        peering = load_settings(environ=env_with(home)).peering
        assert peering.peeringdb_url == "https://www.peeringdb.com/api"
        assert peering.cache_url == "https://public.peeringdb.com"
        assert peering.api_key is None
        assert peering.state == Path.cwd() / "state" / "peering.duckdb"

    def test_peeringdb_py_config_file(self, home: Path) -> None:
        write(
            home / ".peeringdb" / "config.yaml",
            "sync:\n  url: http://127.0.0.1:9/api\n  api_key: from-pdb-py\n  timeout: 7\n",
        )
        peering = load_settings(environ=env_with(home)).peering
        assert (peering.peeringdb_url, peering.api_key, peering.timeout) == (
            "http://127.0.0.1:9/api",
            "from-pdb-py",
            7.0,
        )

    def test_pdb_sync_variables(self, home: Path) -> None:
        env = env_with(home, PDB_SYNC_URL="http://127.0.0.2/api", PDB_SYNC_LOOKBACK="5")
        peering = load_settings(environ=env).peering
        assert (peering.peeringdb_url, peering.lookback) == ("http://127.0.0.2/api", 5)

    def test_config_file_beats_peeringdb_py(self, home: Path, tmp_path: Path) -> None:
        write(home / ".peeringdb" / "config.yaml", "sync:\n  url: http://127.0.0.1:9/api\n")
        write(
            tmp_path / "config.yaml",
            "user_defined:\n  peering:\n    peeringdb_url: http://127.0.0.3/api/\n",
        )
        peering = load_settings(environ=env_with(home)).peering
        assert peering.peeringdb_url == "http://127.0.0.3/api"  # trailing slash dropped

    def test_environment_beats_config_file(self, home: Path, tmp_path: Path) -> None:
        write(
            tmp_path / "config.yaml",
            "user_defined:\n  peering:\n    peeringdb_url: http://127.0.0.3/api\n    retries: 1\n",
        )
        env = env_with(
            home,
            PEERINGDB_URL="http://127.0.0.4/api",
            PEERINGDB_API_KEY="k",
            NORNIR_PEERING_RETRIES="5",
        )
        peering = load_settings(environ=env).peering
        assert (peering.peeringdb_url, peering.api_key, peering.retries) == (
            "http://127.0.0.4/api",
            "k",
            5,
        )

    def test_options_beat_environment(self, home: Path, tmp_path: Path) -> None:
        env = env_with(home, NORNIR_PEERING_STATE="env.duckdb", NORNIR_PEERING_LOCK_WAIT="1")
        peering = load_settings(
            overrides={"state": Path("opt.duckdb"), "lock_wait": 3.5}, environ=env
        ).peering
        assert (peering.state, peering.lock_wait) == (tmp_path / "opt.duckdb", 3.5)

    def test_empty_api_key_means_none(self, home: Path) -> None:
        assert load_settings(environ=env_with(home, PEERINGDB_API_KEY="")).peering.api_key is None


class TestPaths:
    def test_state_in_config_is_relative_to_the_config_file(
        self, home: Path, tmp_path: Path
    ) -> None:
        config = write(
            tmp_path / "site" / "config.yaml",
            "user_defined:\n  peering:\n    state: db/peering.duckdb\n",
        )
        settings = load_settings(config, environ=env_with(home))
        assert settings.peering.state == tmp_path / "site" / "db" / "peering.duckdb"
        assert settings.config_file == config

    def test_nornir_sections_are_kept(self, home: Path, tmp_path: Path) -> None:
        write(tmp_path / "config.yaml", "runner:\n  plugin: threaded\n")
        assert load_settings(environ=env_with(home)).nornir["runner"] == {"plugin": "threaded"}


class TestErrors:
    def test_overridden_bad_value_is_still_an_error(self, home: Path, tmp_path: Path) -> None:
        write(tmp_path / "config.yaml", "user_defined:\n  peering:\n    retries: many\n")
        with pytest.raises(ConfigError, match=r"config\.yaml: user_defined\.peering\.retries"):
            load_settings(environ=env_with(home, NORNIR_PEERING_RETRIES="2"))

    def test_bad_peeringdb_py_config(self, home: Path) -> None:
        write(home / ".peeringdb" / "config.yaml", "sync: [oops\n")
        with pytest.raises(ConfigError, match=r"\.peeringdb/config"):
            load_settings(environ=env_with(home))

    def test_unknown_setting_lists_the_known_ones(self, home: Path, tmp_path: Path) -> None:
        write(tmp_path / "config.yaml", "user_defined:\n  peering:\n    url: x\n")
        with pytest.raises(ConfigError, match=r"peering\.url: unknown setting \(known: state, "):
            load_settings(environ=env_with(home))

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("-1", "Input should be greater than or equal to 0 (got '-1')"),
            ("1001", "Input should be less than or equal to 1000 (got '1001')"),
            ("often", "Input should be a valid integer"),
        ],
    )
    def test_irr_give_up_after(self, home: Path, value: str, message: str) -> None:
        assert load_settings(environ=env_with(home)).peering.irr_give_up_after == 3
        found = load_settings(environ=env_with(home, NORNIR_PEERING_IRR_GIVE_UP_AFTER="0"))
        assert found.peering.irr_give_up_after == 0  # never give a server up
        with pytest.raises(ConfigError) as raised:
            load_settings(environ=env_with(home, NORNIR_PEERING_IRR_GIVE_UP_AFTER=value))
        assert str(raised.value).startswith(
            f"environment NORNIR_PEERING_IRR_GIVE_UP_AFTER: {message}"
        )
