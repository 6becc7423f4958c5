"""Carve a stratified dev split out of a training CSV.

There is no official BANKING77 validation split and its test split is held out, so every model choice
is made on a dev split of ``train.csv``; writing it to files makes the split reproducible and lets the
intent bench read it like any other train/test pair.

    python -m bench.split --input /work/shared/datasets/banking77/train.csv --dev-frac 0.2 --seed 0 \
        --out-dir /tmp/b77
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.intent_data import read_csv, stratified_split, write_csv


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="CSV with columns text,category")
    parser.add_argument("--dev-frac", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", required=True, help="directory for train.csv and dev.csv (not the repo)")
    args = parser.parse_args(argv)

    examples = read_csv(args.input)
    train, dev = stratified_split(examples, args.dev_frac, args.seed)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "train.csv", train)
    write_csv(out / "dev.csv", dev)
    print(
        json.dumps(
            {"train": len(train), "dev": len(dev), "labels": len(set(examples.labels)), "out_dir": str(out)}
        )
    )


if __name__ == "__main__":
    main()
