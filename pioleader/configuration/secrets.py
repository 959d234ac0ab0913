"""Keeping secrets out of configuration reads.

Upstream hands ``[mqtt] password`` to any browser that reads ``config.ini`` (behaviour §7,
user-needs §7). Here a read shows ``********`` in place of each secret's value unless the
caller is authenticated, which is the case for every caller once ``[pioleader] api_key`` is
set (the request-safety middleware refused the others). A write that sends the mask back keeps
the stored value, so editing a masked file does not wipe the password.
"""

from __future__ import annotations

import re

MASK = "********"
SECRETS = frozenset({("mqtt", "password"), ("pioleader", "api_key")})
_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*$")
_OPTION = re.compile(r"^(?P<key>\s*[^\s=:#;][^=:]*?)(?P<sep>\s*[=:]\s*)(?P<value>.*?)\s*$")


def _rewrite(text: str, replace: dict[tuple[str, str], str] | None) -> tuple[str, dict[str, str]]:
    """Walk the secret lines of ``text``: return the text with each secret value replaced
    (``replace`` maps (section, key) to the new value; None masks every non-empty value),
    and the values found, keyed ``section.key``."""
    section = ""
    found: dict[str, str] = {}
    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        header = _SECTION.match(body)
        option = None if header else _OPTION.match(body)
        if header:
            section = header["name"].strip()
        elif option and (section, option["key"].strip()) in SECRETS:
            where = (section, option["key"].strip())
            found[f"{section}.{where[1]}"] = option["value"]
            new = (MASK if option["value"] else "") if replace is None else replace.get(where)
            if new is not None:
                body = f"{option['key']}{option['sep']}{new}"
        lines.append(body + ending)
    return "".join(lines), found


def mask_text(text: str) -> str:
    """The text with every non-empty secret value shown as the mask."""
    return _rewrite(text, None)[0]


def secret_values(text: str) -> dict[str, str]:
    """The secret values set in ``text``, keyed ``section.key``."""
    return _rewrite(text, {})[1]


def restore_secrets(new_text: str, stored_text: str) -> str:
    """Where ``new_text`` still has the mask, put back the value stored before."""
    stored = secret_values(stored_text)
    found = secret_values(new_text)
    restore = {
        (section, key): stored.get(f"{section}.{key}", "")
        for section, key in SECRETS
        if found.get(f"{section}.{key}") == MASK
    }
    return _rewrite(new_text, restore)[0] if restore else new_text


def mask_sections(sections: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The same for a parsed configuration."""
    return {
        name: {
            key: MASK if (name, key) in SECRETS and value else value
            for key, value in options.items()
        }
        for name, options in sections.items()
    }
