"""The whole config: one strict section per concern."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge.config.base import Section
from edge.config.exercise import ExerciseConfig
from edge.config.feedback import FeedbackConfig


class CameraConfig(Section):
    source: str = Field("camera", description='"camera", "webcam:N" or a video/.npz file')
    width: int = Field(640, ge=160, le=1920)
    height: int = Field(480, ge=120, le=1080)
    fps: float = Field(30.0, ge=5.0, le=120.0)


class ModelConfig(Section):
    backend: Literal["blazepose", "movenet"] = "blazepose"
    num_threads: int = Field(0, ge=0, le=16, description="0 = all cores")


class StorageConfig(Section):
    history: bool = True
    db_path: str = "/var/lib/hipflex/hipflex.db"
    athlete: str = ""
    record: bool = False


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    timing_interval_s: float = Field(10.0, ge=1.0, le=3600.0)


class Config(Section):
    camera: CameraConfig = CameraConfig()
    model: ModelConfig = ModelConfig()
    exercise: ExerciseConfig = ExerciseConfig()
    feedback: FeedbackConfig = FeedbackConfig()
    storage: StorageConfig = StorageConfig()
    logging: LoggingConfig = LoggingConfig()
