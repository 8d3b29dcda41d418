"""docs/deploy.md stays pasteable; deploy/sam-local-env.json stays right for ``sam local``.

The guide is read the way its reader pastes it: its shell blocks, in order. A variable a
command uses must be set by an earlier command (an ``export``, an assignment, a ``read``, a
``for`` loop, or the stack-outputs snippet's exports) or be one of the variables the reader
sets, named in the guide's "The variables you set" table. Every make target, stack output,
resource and template parameter it names must exist. Text and YAML only: no shell, no network.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from vod_parts_cleanup.shared.settings import Settings
from vod_parts_cleanup_dev.callbacks import callback_url_of
from vod_parts_cleanup_dev.dynamodb import load_template

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deploy.md"
EVENTS = ROOT / "events"
MAKEFILE = ROOT / "Makefile"
TEMPLATE = ROOT / "template.yaml"
SAM_LOCAL_ENV = ROOT / "deploy" / "sam-local-env.json"
SAM_LOCAL_ENV_ARGUMENT = "--env-vars deploy/sam-local-env.json"
FUNCTIONS = ("CallbackFunction", "CleanupFunction")
# Set by the template for the runtime itself rather than for Settings.
RUNTIME_VARIABLES = frozenset({"POWERTOOLS_LOG_LEVEL", "ALIBABA_CLOUD_ECS_METADATA_DISABLED"})
SHELL_LANGUAGES = frozenset({"sh", "bash", "shell"})
READER_VARIABLES_MARKER = "### The variables you set"
PARAMETERS_MARKER = "### The parameters"
OUTPUTS_MARKER = "The stack's outputs:"

FENCE = re.compile(r"^ *```(?P<language>[\w-]*)[^\n]*\n(?P<body>.*?)^ *```[ \t]*$", re.M | re.S)
QUOTED_HEREDOC = re.compile(r"<<-?\s*(['\"])(?P<delimiter>\w+)\1")
VARIABLE_USE = re.compile(r"\$\{?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<modifier>:?[-=+?])?")
ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TOKEN = re.compile(r"\$\(|&&|\|\||[;|(){}&]|[^\s;|(){}&]+")
SEPARATORS = frozenset({";", "&&", "||", "|", "&", "(", ")", "{", "}", "$("})
# After these words a new command starts (``while read -r x``, ``if [ ... ]; then x=1``).
COMMAND_KEYWORDS = frozenset({"then", "do", "else", "while", "until", "if", "!", "time"})
DECLARATIONS = frozenset({"export", "local", "readonly"})
# The outputs snippet: jq prints ``export NAME=<output or parameter>``, and eval runs it.
SNIPPET_EXPORT = re.compile(
    r"export (?P<name>[A-Z][A-Z0-9_]*)=\\\(\$(?P<source>out|in)\.(?P<key>\w+)"
)
MAKE_IN_PROSE = re.compile(r"`make (?P<target>[A-Za-z][\w-]*)")
MAKE_TARGET_LINE = re.compile(
    r"^(?P<targets>[A-Za-z][\w-]*(?:[ \t]+[A-Za-z][\w-]*)*)[ \t]*:(?!=)", re.M
)
LOGICAL_ID = re.compile(r"--logical-resource-id\s+(?P<id>\w+)")
BACKTICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Block:
    language: str
    body: str
    line: int

    @property
    def is_shell(self) -> bool:
        return self.language in SHELL_LANGUAGES


@dataclass(frozen=True)
class CommandLine:
    """One line of a shell block as the shell expands it, with what it sets and uses."""

    text: str
    assigned: frozenset[str]  # by ``NAME=``/``export NAME=``: usable from the next line
    looped: frozenset[str]  # by ``read`` or ``for``: usable on the same line already
    used: frozenset[str]
    make_targets: tuple[str, ...]
    parameter_overrides: tuple[str, ...]


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def blocks(guide: str) -> list[Block]:
    return fenced_blocks(guide)


@pytest.fixture(scope="module")
def shell_blocks(blocks: list[Block]) -> list[Block]:
    found = [block for block in blocks if block.is_shell]
    assert found, "the guide has no shell blocks"
    return found


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def sam_local_env() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SAM_LOCAL_ENV.read_text(encoding="utf-8"))
    return loaded


# --- Reading markdown -------------------------------------------------------------------


def fenced_blocks(text: str) -> list[Block]:
    return [
        Block(match["language"], match["body"], text.count("\n", 0, match.start()) + 1)
        for match in FENCE.finditer(text)
    ]


def table_after(text: str, marker: str) -> list[list[str]]:
    """The cells of the first markdown table after the line ``marker``, header left out."""
    lines = text.splitlines()
    start = next((index for index, line in enumerate(lines) if line.strip() == marker), None)
    assert start is not None, f"the guide has no line {marker!r}"
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    assert len(rows) > 2, f"no table after {marker!r}"
    return rows[2:]


def names_in_first_column(rows: list[list[str]]) -> set[str]:
    return {name for row in rows for name in BACKTICKED.findall(row[0])}


# --- Reading shell ------------------------------------------------------------------------


def without_quoted_heredocs(body: str) -> str:
    """A ``<<'EOF'`` body is not expanded by the shell, so it cannot use a variable."""
    kept: list[str] = []
    delimiter: str | None = None
    for line in body.splitlines():
        if delimiter is not None:
            if line.strip() == delimiter:
                delimiter = None
            continue
        kept.append(line)
        if match := QUOTED_HEREDOC.search(line):
            delimiter = match["delimiter"]
    return "\n".join(kept)


def expanded_text(body: str) -> str:
    """The block as the shell expands it: continuations joined, comments and single-quoted
    strings left out (a jq program's ``$out`` is jq's, not the shell's), quoted heredocs out.

    Double quotes keep their content; a ``$(...)`` inside them is code again, so its own
    single quotes count as quotes.
    """
    text = without_quoted_heredocs(body).replace("\\\n", " ")
    kept: list[str] = []
    states = ["plain"]
    index = 0
    while index < len(text):
        char, state = text[index], states[-1]
        if char == "\\":
            kept.append(text[index : index + 2])
            index += 2
            continue
        if text.startswith("$(", index):
            states.append("subst")
            kept.append("$(")
            index += 2
            continue
        if state == "double":
            if char == '"':
                states.pop()
        elif char == "'":
            end = text.find("'", index + 1)
            assert end != -1, f"unclosed single quote in: {text[index : index + 60]!r}"
            kept.append("''")
            index = end + 1
            continue
        elif char == '"':
            states.append("double")
        elif char == "(":
            states.append("paren")
        elif char == ")" and len(states) > 1:
            states.pop()
        elif char == "#" and (index == 0 or text[index - 1] in " \t\n;|&("):
            end = text.find("\n", index)
            index = len(text) if end == -1 else end
            continue
        kept.append(char)
        index += 1
    return "".join(kept)


def command_lines(body: str) -> list[CommandLine]:
    return [read_command_line(line) for line in expanded_text(body).splitlines()]


def read_command_line(text: str) -> CommandLine:
    tokens = TOKEN.findall(text)
    assigned: set[str] = set()
    looped: set[str] = set()
    targets: list[str] = []
    overrides: list[str] = []
    for index, (token, at_start) in enumerate(command_positions(tokens)):
        rest = tokens[index + 1 :]
        if at_start:
            assigned |= assigned_by(token, rest)
            looped |= looped_by(token, rest)
            if token == "make":
                targets.extend(word for word in arguments(rest) if "=" not in word)
        if token == "--parameter-overrides":
            overrides.extend(assigned_names(arguments(rest)))
    used = {match["name"] for match in VARIABLE_USE.finditer(text) if match["modifier"] is None}
    return CommandLine(
        text,
        frozenset(assigned),
        frozenset(looped),
        frozenset(used),
        tuple(targets),
        tuple(overrides),
    )


def assigned_by(token: str, rest: list[str]) -> set[str]:
    """``NAME=...`` where a command starts, or ``export NAME=...``."""
    if token in DECLARATIONS:
        return set(assigned_names(arguments(rest))) | {
            word for word in arguments(rest) if NAME.match(word)
        }
    return set(assigned_names([token]))


def looped_by(token: str, rest: list[str]) -> set[str]:
    """``read [-rs] NAME...`` and ``for NAME in``: set before the rest of the line runs."""
    if token == "read":
        return {word for word in arguments(rest) if NAME.match(word)}
    if token == "for" and rest:
        return {rest[0]}
    return set()


def assigned_names(words: Iterator[str] | list[str]) -> Iterator[str]:
    for word in words:
        if match := ASSIGNMENT.match(word):
            yield match["name"]


def command_positions(tokens: list[str]) -> Iterator[tuple[str, bool]]:
    """Each token, and whether it stands where a command (or its prefix assignments) starts."""
    at_start = True
    for token in tokens:
        yield token, at_start
        if token in SEPARATORS or token in COMMAND_KEYWORDS:
            at_start = True
        elif at_start and (ASSIGNMENT.match(token) or token in DECLARATIONS):
            at_start = token not in DECLARATIONS
        else:
            at_start = False


def arguments(tokens: list[str]) -> Iterator[str]:
    """A command's words up to the next separator, options (``-r``, ``--x``) left out."""
    for token in tokens:
        if token in SEPARATORS:
            return
        if not token.startswith("-"):
            yield token


def snippet_exports(body: str) -> list[re.Match[str]]:
    return list(SNIPPET_EXPORT.finditer(body))


def makefile_targets() -> set[str]:
    text = MAKEFILE.read_text(encoding="utf-8")
    return {
        target for match in MAKE_TARGET_LINE.finditer(text) for target in match["targets"].split()
    }


def undefined_uses(shell_blocks: list[Block], reader_variables: set[str]) -> list[str]:
    """Every use of a variable that nothing before it sets, with where it is."""
    known = set(reader_variables)
    problems: list[str] = []
    for block in shell_blocks:
        exported_by_snippet = {match["name"] for match in snippet_exports(block.body)}
        for offset, line in enumerate(command_lines(block.body)):
            missing = line.used - known - line.looped
            problems.extend(
                f"block at line {block.line} (+{offset}): ${name}" for name in sorted(missing)
            )
            known |= line.assigned | line.looped
            if line.text.lstrip().startswith("eval "):
                known |= exported_by_snippet
    return problems


# --- The guide ------------------------------------------------------------------------------


def test_every_fenced_block_names_its_language(blocks: list[Block]) -> None:
    """So no shell block escapes the checks below by being unlabelled."""
    unlabelled = [block.line for block in blocks if not block.language]
    assert not unlabelled, f"fenced blocks without a language at lines {unlabelled}"


def test_the_reader_sets_only_variables_the_guide_names_and_uses(
    guide: str, shell_blocks: list[Block]
) -> None:
    documented = names_in_first_column(table_after(guide, READER_VARIABLES_MARKER))
    used = {
        name for block in shell_blocks for line in command_lines(block.body) for name in line.used
    }
    assert documented, "the guide names no variable for the reader to set"
    assert documented <= used, f"named but never used: {sorted(documented - used)}"
    first = command_lines(shell_blocks[0].body)
    exported_first = set().union(*(line.assigned for line in first))
    assert documented <= exported_first, "step 0's block should export every reader variable"


def test_every_variable_a_command_uses_is_set_earlier(
    guide: str, shell_blocks: list[Block]
) -> None:
    documented = names_in_first_column(table_after(guide, READER_VARIABLES_MARKER))
    problems = undefined_uses(shell_blocks, documented)
    assert not problems, "used before anything sets them:\n" + "\n".join(problems)


def test_the_outputs_snippet_reads_only_outputs_and_parameters_the_template_has(
    shell_blocks: list[Block], template: dict[str, Any]
) -> None:
    exports = [match for block in shell_blocks for match in snippet_exports(block.body)]
    assert exports, "the guide has no snippet exporting the stack's outputs"
    known = {"out": set(template["Outputs"]), "in": set(template["Parameters"])}
    unknown = [m.group(0) for m in exports if m["key"] not in known[m["source"]]]
    assert not unknown, f"not in template.yaml: {unknown}"
    names = [match["name"] for match in exports]
    assert len(names) == len(set(names)), "the snippet exports a variable twice"


def test_the_outputs_snippet_exports_what_the_later_steps_need(shell_blocks: list[Block]) -> None:
    exported = {match["name"] for block in shell_blocks for match in snippet_exports(block.body)}
    needed = {
        "CALLBACK_URL",
        "WORK_QUEUE_URL",
        "FUNCTION_NAME",
        "FAILED_EVENTS_QUEUE_URL",
        "DEAD_LETTER_QUEUE_ARN",
        "DASHBOARD_URL",
    }
    assert needed <= exported, f"missing: {sorted(needed - exported)}"


def test_every_make_target_the_guide_names_exists(guide: str, shell_blocks: list[Block]) -> None:
    named = {
        target
        for block in shell_blocks
        for line in command_lines(block.body)
        for target in line.make_targets
    } | {match["target"] for match in MAKE_IN_PROSE.finditer(guide)}
    assert {"setup", "smoke", "redrive"} <= named
    missing = named - makefile_targets()
    assert not missing, f"make targets the Makefile lacks: {sorted(missing)}"


def test_every_output_the_guide_lists_exists_and_none_is_left_out(
    guide: str, template: dict[str, Any]
) -> None:
    listed = names_in_first_column(table_after(guide, OUTPUTS_MARKER))
    assert listed == set(template["Outputs"])


def test_every_parameter_the_guide_names_exists_and_the_table_has_them_all(
    guide: str, shell_blocks: list[Block], template: dict[str, Any]
) -> None:
    parameters = set(template["Parameters"])
    tabled = names_in_first_column(table_after(guide, PARAMETERS_MARKER))
    assert tabled == parameters
    overridden = {
        name
        for block in shell_blocks
        for line in command_lines(block.body)
        for name in line.parameter_overrides
    }
    assert {"VodCredentialsSecretArn", "CallbackAuthKeySecretArn"} <= overridden
    assert overridden <= parameters, f"not parameters: {sorted(overridden - parameters)}"


def test_every_resource_the_guide_looks_up_exists(
    shell_blocks: list[Block], template: dict[str, Any]
) -> None:
    looked_up = {m["id"] for block in shell_blocks for m in LOGICAL_ID.finditer(block.body)}
    assert looked_up <= set(template["Resources"]), sorted(looked_up - set(template["Resources"]))


@pytest.mark.parametrize(
    ("snippet", "problem"),
    [
        ('echo "$NEVER_SET"\n', "$NEVER_SET"),
        ('X="$X" cmd\n', "$X"),
        ('make smoke STACK="$STACK"\n', "$STACK"),
    ],
)
def test_the_check_itself_catches_a_variable_used_before_it_is_set(
    snippet: str, problem: str
) -> None:
    problems = undefined_uses([Block("sh", snippet, 1)], set())
    assert any(entry.endswith(problem) for entry in problems)


@pytest.mark.parametrize(
    "snippet",
    [
        'export A=1\necho "$A"\n',
        'read -rs SECRET\nuse "$SECRET"\n',
        'cmd | while read -r item; do echo "$item"; done\n',
        'for q in a b; do echo "$q"; done\n',
        "jq -r '.x as $out | $out' file\n",
        "python - <<'EOF'\nprint(\"$NOT_SHELL\")\nEOF\n",
        "echo done  # costs $NOTHING\n",
        "V=$(aws x --query 'A[?B==`c`]' | jq -r '$in')\necho \"$V\"\n",
    ],
)
def test_the_check_itself_accepts_what_the_shell_sets_or_does_not_expand(snippet: str) -> None:
    assert undefined_uses([Block("sh", snippet, 1)], set()) == []


# --- The sam local environment file ---------------------------------------------------------


def function_variables(template: dict[str, Any], name: str) -> dict[str, Any]:
    variables: dict[str, Any] = template["Resources"][name]["Properties"]["Environment"][
        "Variables"
    ]
    return variables


def names_a_stack_resource(value: Any, resources: set[str]) -> bool:
    """Whether a template value refers to one of the stack's own resources."""
    if isinstance(value, list):
        return any(names_a_stack_resource(item, resources) for item in value)
    if not isinstance(value, dict):
        return False
    if "Ref" in value:
        return value["Ref"] in resources
    if "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return (target[0] if isinstance(target, list) else str(target).split(".")[0]) in resources
    if "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        text = sub[0] if isinstance(sub, list) else sub
        return any(name.split(".")[0] in resources for name in re.findall(r"\$\{([^}!]+)\}", text))
    return any(names_a_stack_resource(item, resources) for item in value.values())


def signed_sample_url() -> str:
    """The one callback URL the HTTP samples are signed for."""
    urls = {
        callback_url_of(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(EVENTS.glob("http-*.json"))
    }
    assert len(urls) == 1, urls
    return urls.pop()


def test_the_sam_local_file_covers_exactly_the_two_functions(sam_local_env: dict[str, Any]) -> None:
    assert set(sam_local_env) == set(FUNCTIONS)


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_the_sam_local_file_names_only_variables_the_function_reads(
    sam_local_env: dict[str, Any], template: dict[str, Any], function_id: str
) -> None:
    given = set(sam_local_env[function_id])
    assert given <= Settings.variables() | RUNTIME_VARIABLES
    # sam local passes a function only the variables its template declares.
    assert given <= set(function_variables(template, function_id))


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_the_sam_local_file_sets_every_variable_that_names_a_stack_resource(
    sam_local_env: dict[str, Any], template: dict[str, Any], function_id: str
) -> None:
    resources = set(template["Resources"])
    naming = {
        name
        for name, value in function_variables(template, function_id).items()
        if names_a_stack_resource(value, resources)
    }
    assert naming, "expected the work queue at least"
    assert naming <= set(sam_local_env[function_id])


@pytest.mark.parametrize("function_id", FUNCTIONS)
def test_the_sam_local_values_are_blank_but_the_url_the_samples_are_signed_for(
    sam_local_env: dict[str, Any], function_id: str
) -> None:
    for name, value in sam_local_env[function_id].items():
        expected = signed_sample_url() if name == "VOD_CALLBACK_URL" else ""
        assert value == expected, name
    if function_id == "CallbackFunction":
        assert "VOD_CALLBACK_URL" in sam_local_env[function_id]


def test_the_guide_and_the_events_readme_show_the_sam_local_command(guide: str) -> None:
    readme = (EVENTS / "README.md").read_text(encoding="utf-8")
    for text in (guide, readme):
        assert SAM_LOCAL_ENV_ARGUMENT in text
        assert "sam local invoke CallbackFunction" in text
        assert "sam local invoke CleanupFunction" in text
