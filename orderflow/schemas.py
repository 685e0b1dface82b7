"""`orderflow schemas`: publish the event JSON Schemas to the repo and guard them against breaking changes."""

import json
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from eventkit.schemas import Incompatibility, Kind, Schema, check, current_schemas

app = typer.Typer(help="Export the event JSON Schemas and check the code against the published ones.")

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "schemas"
_DIR_HELP = "Directory of the published schemas."
# exists: a mistyped --dir must not pass `check` as "nothing published, so nothing broken".
PublishedDirectory = Annotated[Path, typer.Option("--dir", exists=True, file_okay=False, help=_DIR_HELP)]

# soft_wrap: one problem per line however narrow the terminal, so the output stays greppable.
console = Console(soft_wrap=True, highlight=False)


@app.command()
def export(
    directory: Annotated[Path, typer.Option("--dir", file_okay=False, help=_DIR_HELP)] = DEFAULT_DIR,
    force: Annotated[bool, typer.Option(help="Overwrite published schemas even if incompatible.")] = False,
) -> None:
    """Write one <type>.json per event type."""
    current = current_schemas()
    problems = check(_published(directory), current)
    if problems:
        _report(problems)
        if not force:
            console.print("[red]Refusing to overwrite published schemas[/red] (--force to do it anyway).")
            raise typer.Exit(1)
    directory.mkdir(parents=True, exist_ok=True)
    for event_type, schema in current.items():
        (directory / f"{event_type}.json").write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    console.print(f"Wrote {len(current)} schemas to {escape(str(directory))}.")


@app.command("check")
def check_command(directory: PublishedDirectory = DEFAULT_DIR) -> None:
    """Fail if the code changed a published event schema incompatibly."""
    published = _published(directory)
    problems = check(published, current_schemas())
    if problems:
        _report(problems)
        raise typer.Exit(1)
    console.print(f"[green]OK[/green]: {len(published)} published event schemas are compatible with the code")


def _published(directory: Path) -> dict[str, Schema]:
    return {path.stem: json.loads(path.read_text()) for path in directory.glob("*.json")}


def _report(problems: list[Incompatibility]) -> None:
    console.print(f"[red]{len(problems)} incompatible change(s) to published event schemas:[/red]")
    for problem in problems:
        console.print(
            f"  [red]✗[/red] {escape(problem.event_type)} {escape(problem.path)}: [bold]{problem.kind}[/bold]"
            f" ({escape(problem.detail)})\n    fix: {escape(_fix(problem))}"
        )


def _fix(problem: Incompatibility) -> str:
    if problem.kind is Kind.TYPE_REMOVED:
        return f"restore {problem.event_type}; events of a published version may still be in flight"
    return f"revert it, or publish a new version, e.g. {_next_version(problem.event_type)}"


def _next_version(event_type: str) -> str:
    match = re.fullmatch(r"(.+\.v)(\d+)", event_type)
    return f"{match[1]}{int(match[2]) + 1}" if match else f"{event_type}.v2"
