"""``python -m hover.cli.bundle teacher|student RUN [OUT_DIR] [NAME]``: a run's newest policy as a bundle.

Writes ``<OUT_DIR>/<NAME>.pt`` and ``.json`` (default ``hover/assets/policies``, name = the kind: the
``builtin:teacher`` / ``builtin:student`` policies) with :func:`hover.training.teacher.export_bundled`
or :func:`hover.training.distillation.export_bundled`.
"""

from __future__ import annotations

import sys

from hover.training import distillation, teacher

USAGE = "usage: python -m hover.cli.bundle teacher|student RUN_DIR_OR_CKPT [OUT_DIR] [NAME]"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    bundlers = {"teacher": teacher.export_bundled, "student": distillation.export_bundled}
    if len(argv) < 2 or argv[0] not in bundlers:
        print(USAGE, file=sys.stderr)
        return 2
    path = bundlers[argv[0]](argv[1], *argv[2:4])
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
