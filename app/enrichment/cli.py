"""`flask ml ...`: train, evaluate and run the photo models from the command line."""
import json
from pathlib import Path
from types import ModuleType

import click
from flask.cli import AppGroup

import ml_models
from app.config import datasets_dir
from app.enrichment.evaluation import evaluate_through_app
from app.enrichment.models import get_describer

ml_cli = AppGroup("ml", help="Train, evaluate and run the photo models.")
DEFAULT_DATA = datasets_dir() / "flickr8k"

data_option = click.option("--data", "data_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                           default=DEFAULT_DATA, show_default=True, help="The Flickr8k folder.")
out_option = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
                          default=Path(ml_models.__file__).parent / "weights", show_default=True, help="Where weights are written.")
epochs_option = click.option("--epochs", type=click.IntRange(1), default=None, help="Most epochs (early stopping on dev).")
limit_option = click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N images of each split.")
split_option = click.option("--split", type=click.Choice(["dev", "train"]), default="dev", show_default=True)


def _training() -> ModuleType:
    """ml_models.training, imported on use: it loads TensorFlow, which other commands don't need."""
    from ml_models import training  # noqa: PLC0415

    return training


def _print_metrics(metrics: dict) -> None:
    click.echo(json.dumps({name: round(value, 4) for name, value in metrics.items()}))


def _add_training_command(name: str, function_name: str, summary: str) -> None:
    @ml_cli.command(name, help=summary)
    @data_option
    @out_option
    @epochs_option
    @limit_option
    def command(data_dir: Path, out_dir: Path, epochs: int | None, limit: int | None) -> None:
        options = {"epochs": epochs} if epochs else {}
        _print_metrics(getattr(_training(), function_name)(data_dir, out_dir=out_dir, limit=limit, **options))


def _add_evaluation_command(name: str, function_name: str, summary: str) -> None:
    @ml_cli.command(name, help=summary)
    @data_option
    @split_option
    @limit_option
    def command(data_dir: Path, split: str, limit: int | None) -> None:
        _print_metrics(getattr(_training(), function_name)(data_dir, split=split, limit=limit))


for _name, _function, _summary in (
    ("train-captioner", "train_captioner",
     "Train the CNN+LSTM captioner on the train split (early-stopped on dev), then fine-tune it self-critically."),
    ("train-tagger", "train_tagger", "Train the ViT tagger on the train split; threshold tuned on dev."),
    ("train-projection", "train_projection", "Train the image-to-text projection used by search (contrastive)."),
):
    _add_training_command(_name, _function, _summary)


@ml_cli.command("build-search-reference")
@data_option
@out_option
def build_search_reference(data_dir: Path, out_dir: Path) -> None:
    """Embed the train captions that search measures each photo's hubness against."""
    _print_metrics(_training().build_search_reference(data_dir, out_dir=out_dir))


for _name, _function, _summary in (
    ("evaluate", "evaluate_captioner", "Corpus BLEU-1..4 of the captioner against the five human captions."),
    ("evaluate-tagger", "evaluate_tagger", "Micro/macro F1 and mAP of the tagger."),
):
    _add_evaluation_command(_name, _function, _summary)


@ml_cli.command("evaluate-search")
@data_option
@split_option
@limit_option
@click.option("--through-app", is_flag=True,
              help="End to end: upload the photos into a throwaway database through the app, let its workers "
                   "describe them, search one human caption each through the search service; also the keyword "
                   "queries and the NSFW hold's false positives.")
@click.option("--keep-database", is_flag=True, help="With --through-app: keep the described database (named in the output).")
@click.option("--database", "described_database", default=None,
              help="With --through-app: evaluate a database kept by --keep-database instead of describing again.")
def evaluate_search(data_dir: Path, split: str, limit: int | None, through_app: bool, keep_database: bool,
                    described_database: str | None) -> None:
    """Text-to-photo recall@1/5/10 with the human captions as queries (the projection alone, or --through-app)."""
    if not through_app:
        if keep_database or described_database:
            raise click.UsageError("--keep-database and --database go with --through-app.")
        _print_metrics(_training().evaluate_search(data_dir, split=split, limit=limit))
        return
    result = evaluate_through_app(data_dir, split, limit, keep_database=keep_database,
                                  described_database=described_database, log=lambda line: click.echo(line, err=True))
    click.echo(json.dumps(result))


@ml_cli.command("describe")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def describe(files: tuple[Path, ...]) -> None:
    """Print one JSON object per photo: caption, tags, nsfw, timings (the app's own code path)."""
    for line in _training().describe_files(files, describer=get_describer()):
        click.echo(json.dumps(line))
