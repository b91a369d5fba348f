"""The strict base every config section derives from: unknown keys are errors."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # Frozen: a running box swaps whole Config objects on reload, it never edits one.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True)
