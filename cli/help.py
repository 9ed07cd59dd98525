"""How every verb's help reads: plain text (no rich markup, which read ``did:key:`` as an
emoji code), one notation for values (``FILE``, ``KEY|FILE``, ``a|b|c``: every option and
argument names its metavar), and a command list of whole sentences (each verb's
``short_help``)."""

from __future__ import annotations

from typer import _click
from typer.core import TyperArgument, TyperCommand


class Command(TyperCommand):
    """A verb whose usage line and argument list name each argument by its metavar alone
    (``bpl chain [OPTIONS] ID``), not ``{ID}`` in the usage and ``ID <str>`` below it."""

    def collect_usage_pieces(self, ctx: _click.Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = param.display_name_raw
                pieces.append(name if param.required else f"[{name}]")
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def format_options(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        arguments = [
            (param.display_name_raw, param.help or "")
            for param in self.get_params(ctx)
            if isinstance(param, TyperArgument) and not param.hidden
        ]
        options = [
            record
            for param in self.get_params(ctx)
            if not isinstance(param, TyperArgument)
            and (record := param.get_help_record(ctx)) is not None
        ]
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)
