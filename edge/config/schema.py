"""The whole config: one strict section per concern.

Sections are frozen (see edge.config.base): the live loop never edits a config in place, it
swaps the whole object on SIGHUP, so a half-applied reload cannot exist.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from edge.backends import DEFAULT_POSE_BACKEND, POSE_BACKENDS
from edge.config.base import Section
from edge.config.exercise import ExerciseConfig
from edge.config.feedback import FeedbackConfig
from edge.config.fleet import FleetConfig
from edge.config.validators import absolute_path, athlete_name, record_directory, source_spec
from edge.sources.base import ZOOM_MAX, ZOOM_MIN

ProfileName = Literal["standard", "beginner", "advanced"]


class CameraConfig(Section):
    source: Annotated[str, AfterValidator(source_spec)] = "camera"
    width: int = Field(640, ge=160, le=1920)
    height: int = Field(480, ge=120, le=1080)
    fps: float = Field(30.0, ge=5.0, le=120.0)
    zoom: float = Field(
        1.0,
        ge=ZOOM_MIN,
        le=ZOOM_MAX,
        description="Pi camera digital zoom: 1 = the lens's whole field, 2 = half as wide",
    )


class ModelConfig(Section):
    backend: Literal[tuple(POSE_BACKENDS)] = DEFAULT_POSE_BACKEND
    num_threads: int = Field(0, ge=0, le=16, description="0 = all cores")


class StorageConfig(Section):
    history: bool = True
    db_path: Annotated[str, AfterValidator(absolute_path)] = "/var/lib/hipflex/hipflex.db"
    athlete: Annotated[str, AfterValidator(athlete_name)] = ""
    history_max_age_days: int = Field(365, ge=0, le=36500)
    record: bool = False
    record_dir: Annotated[str, AfterValidator(record_directory)] = "/var/lib/hipflex/clips"
    record_max_mb: int = Field(2000, ge=10, le=1_000_000)
    record_max_age_days: int = Field(30, ge=1, le=3650)


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    timing_interval_s: float = Field(10.0, ge=1.0, le=3600.0)


class Config(Section):
    profile: ProfileName = "standard"
    camera: CameraConfig = Field(default_factory=CameraConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    exercise: ExerciseConfig = Field(default_factory=ExerciseConfig)
    feedback: FeedbackConfig = Field(default_factory=FeedbackConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    fleet: FleetConfig = Field(default_factory=FleetConfig)
