"""`feedguard images ...`: hash files, add to / query / inspect a persisted index; bad input exits 2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image
from skimage import data as skimage_data
from typer.testing import CliRunner

from model.images_cli import app
from model.pdq import hash_file

runner = CliRunner()


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("images")
    coffee = Image.fromarray(skimage_data.coffee())
    paths = {
        "coffee": folder / "coffee.jpg",
        "coffee_small": folder / "coffee_small.png",
        "coffee_mirror": folder / "coffee_mirror.jpg",
        "astronaut": folder / "astronaut.jpg",
        "blank": folder / "blank.png",
        "broken": folder / "broken.jpg",
    }
    coffee.save(paths["coffee"], quality=90)
    coffee.resize((200, 133)).save(paths["coffee_small"])
    coffee.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(paths["coffee_mirror"], quality=70)
    Image.fromarray(skimage_data.astronaut()).save(paths["astronaut"], quality=90)
    Image.new("RGB", (120, 80), "white").save(paths["blank"])
    buffer = io.BytesIO()
    coffee.save(buffer, format="JPEG")
    paths["broken"].write_bytes(buffer.getvalue()[:2000])
    return paths


def test_hash_prints_hex_quality_path(images: dict[str, Path]) -> None:
    result = runner.invoke(app, ["hash", str(images["coffee"]), str(images["astronaut"])])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    hex_value, quality, path = lines[0].split(" ")
    assert hex_value == hash_file(images["coffee"]).hex and quality == "100" and path == str(images["coffee"])
    dihedral = runner.invoke(app, ["hash", "--dihedral", str(images["coffee"])])
    assert len(dihedral.stdout.split()) == 3 + 7


def test_hash_reports_each_bad_file_on_one_line_and_exits_2(images: dict[str, Path]) -> None:
    result = runner.invoke(app, ["hash", str(images["coffee"]), str(images["broken"]), "missing.png"])
    assert result.exit_code == 2
    assert result.stdout.count("\n") == 1  # the good file is still hashed
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2
    assert "broken.jpg: rejected (truncated)" in errors[0]
    assert "missing.png: no such file" in errors[1]


def test_index_add_query_stats_roundtrip(images: dict[str, Path], tmp_path: Path) -> None:
    index = tmp_path / "idx"
    added = runner.invoke(
        app,
        [
            "index",
            "add",
            "--index",
            str(index),
            "--post-id",
            "p1",
            "--author",
            "upline",
            "--created-at",
            "2026-11-17T09:00:00+08:00",
            str(images["coffee"]),
            str(images["blank"]),
        ],
    )
    assert added.exit_code == 0, added.output
    assert "skipped" in added.stdout and "quality" in added.stdout  # the blank image
    assert "now holds 1" in added.stdout
    runner.invoke(app, ["index", "add", "--index", str(index), "--author", "agent", str(images["astronaut"])])

    queried = runner.invoke(
        app,
        ["index", "query", "--index", str(index), str(images["coffee_small"]), str(images["coffee_mirror"])],
    )
    assert queried.exit_code == 0, queried.output
    blocks = queried.stdout.strip().split("\n")
    assert blocks[0].endswith("1 match(es)")
    distance, post, author, created, image_id = blocks[1].split()
    assert (post, author, created, image_id) == ("p1", "upline", "2026-11-17T01:00:00+00:00", "p1#0")
    assert int(distance) <= 31
    assert blocks[2].endswith("1 match(es)")  # the mirrored copy, through the dihedral hashes

    stats = runner.invoke(app, ["index", "stats", "--index", str(index)])
    assert json.loads(stats.stdout)["items"] == 2
    strict = runner.invoke(
        app, ["index", "query", "--index", str(index), "--radius", "0", str(images["coffee_small"])]
    )
    assert strict.exit_code == 0 and "0 match(es)" in strict.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["index", "stats", "--index", "{tmp}/none"],
            "--index must be a directory holding a saved image index",
        ),
        (
            ["index", "add", "--index", "{tmp}/i", "--created-at", "yesterday", "{img}"],
            "--created-at must be an ISO 8601",
        ),
        (["index", "add", "--index", "{tmp}/i", "--created-at", "2026-11-17T09:00:00", "{img}"], "time zone"),
        (["index", "query", "--index", "{tmp}/i", "--radius", "99", "{img}"], "--radius must be between"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    images: dict[str, Path], tmp_path: Path, args: list[str], message: str
) -> None:
    runner.invoke(app, ["index", "add", "--index", str(tmp_path / "i"), str(images["coffee"])])
    filled = [a.format(tmp=tmp_path, img=images["coffee"]) for a in args]
    result = runner.invoke(app, filled)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_every_verb_has_help() -> None:
    for verb in (["hash"], ["index", "add"], ["index", "query"], ["index", "stats"]):
        result = runner.invoke(app, [*verb, "--help"])
        assert result.exit_code == 0 and "Usage" in result.stdout
