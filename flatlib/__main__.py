"""Command line: ``python -m flatlib reproduce [NAMES...] [--jobs N] [-p key=value ...]``."""
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m flatlib reproduce [NAMES...] [--jobs N] [-p KEY=VALUE] [--inplace]\n\n"
              "  reproduce   execute the notebooks headlessly (papermill) and write figures/")
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd == "reproduce":
        from .reproduce import main as reproduce_main
        return reproduce_main(rest)
    print(f"unknown command {cmd!r}; try 'python -m flatlib --help'", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
