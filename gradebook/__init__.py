"""Course grades: a declarative policy (course.toml) applied to the recorded scores."""
