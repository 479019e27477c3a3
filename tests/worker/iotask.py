"""A worker task for the tests only: reads an input artifact, uploads an output.

It downloads the artifacts under `input_key` of its dynamic data, writes
the upper-cased `greeting.txt` of the first as `shout.txt`, and uploads
that as a `debusine:test` artifact related to the input. Registered with
the worker's tasks only; the daemon's `task_modules` makes the child
import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, fields

from worker.tasks import WorkerTask


class IOData(Schema):
    class Meta:
        unknown = RAISE

    input_key = fields.String(load_default="input_artifact_id")
    relation = fields.String(load_default="relates-to")


class IOTask(WorkerTask):
    NAME = "testio"

    @classmethod
    def validate(cls, task_data: Mapping[str, Any]) -> dict[str, Any]:
        loaded: dict[str, Any] = IOData().load(dict(task_data))
        return loaded

    @classmethod
    def version(cls) -> int:
        return 1

    @classmethod
    def executor_backend(cls) -> str | None:
        return None

    def run(self) -> bool:
        source = self.download_inputs(self.data["input_key"])[0]
        text = source.files["greeting.txt"].read_text(encoding="utf-8")
        output = self.context.work_directory / "output"
        output.mkdir()
        (output / "shout.txt").write_text(text.upper(), encoding="utf-8")
        (output / "copy.txt").write_text(text, encoding="utf-8")
        artifact_id = self.upload_artifact(
            "debusine:test",
            {"shout.txt": output / "shout.txt", "nested/copy.txt": output / "copy.txt"},
            {"source": source.id, "source_category": source.category},
            relations=[(self.data["relation"], source.id)],
        )
        self.log(f"testio: output {artifact_id}")
        return True
