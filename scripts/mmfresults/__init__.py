"""mmapfile capacity-planning report (scripts/report): data, charts, model, validation."""
