"""The dashboard counts an OIDC login only when secrets.toml holds a complete [auth] table,
so `bnbench dashboard` and the app agree, and a mere mention of [auth] opens nothing."""

import pytest
from click.testing import CliRunner

from cli import main
from dashboard.auth_config import oidc_complete, oidc_problems
from dashboard.launch import default_host

COMPLETE = """
[auth]
redirect_uri = "https://bench.example.org/oauth2callback"
cookie_secret = "0123456789abcdef"
client_id = "bnbench"
client_secret = "s3cret"
server_metadata_url = "https://id.example.org/.well-known/openid-configuration"
"""


@pytest.fixture
def secrets(tmp_path, monkeypatch):
    """Write the project's .streamlit/secrets.toml; no user-level one, no password."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BNBENCH_DASHBOARD_PASSWORD", raising=False)
    (tmp_path / ".streamlit").mkdir()

    def write(text: str) -> None:
        (tmp_path / ".streamlit" / "secrets.toml").write_text(text)

    return write


@pytest.mark.parametrize(
    "text",
    [
        "# [auth]\n# client_id = 'x'\n",
        '[other]\nnote = "[auth] comes later"\n',
        COMPLETE.replace("[auth]", "# [auth]"),
    ],
    ids=["commented out", "inside a string", "complete but commented out"],
)
def test_a_mention_of_auth_is_no_login_and_the_network_stays_closed(secrets, text):
    secrets(text)
    assert not oidc_complete()
    assert default_host() == "127.0.0.1"
    res = CliRunner().invoke(main, ["dashboard", "--host", "0.0.0.0"])
    assert res.exit_code == 2 and "with no login" in res.stderr


def test_an_incomplete_auth_section_names_what_it_lacks(secrets):
    secrets('[auth]\nredirect_uri = "https://x/oauth2callback"\nclient_id = ""\n')
    assert not oidc_complete()
    [problem] = oidc_problems()
    assert "lacks cookie_secret, client_id, client_secret, server_metadata_url" in problem
    res = CliRunner().invoke(main, ["dashboard", "--host", "0.0.0.0"])
    assert res.exit_code == 2
    assert "warning: [auth] in secrets.toml lacks cookie_secret" in res.stderr


def test_an_unreadable_secrets_file_is_named(secrets):
    secrets("[auth\nclient_id = ")
    assert not oidc_complete()
    assert "could not read" in oidc_problems()[0] and "secrets.toml" in oidc_problems()[0]


def test_a_complete_section_is_a_login(secrets):
    secrets(COMPLETE)
    assert oidc_complete() and oidc_problems() == []
    assert default_host() == "0.0.0.0"


def test_the_users_and_the_projects_files_merge_as_streamlit_merges_them(secrets, tmp_path):
    head, tail = COMPLETE.split("client_id")
    user = tmp_path / "home" / ".streamlit"
    user.mkdir(parents=True)
    (user / "secrets.toml").write_text(head)
    secrets("[auth]\nclient_id" + tail)
    assert oidc_complete()
