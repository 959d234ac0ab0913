"""Profiles shared by the profile tests: in-process and against the real cluster."""

TIMED = """\
experiment_profile_name: timed
metadata:
  author: tests
common:
  jobs:
    stirring:
      actions:
        - {type: start, t: 0, options: {target_rpm: 400}}
        - {type: update, t: 30m, options: {target_rpm: 500}}
        - {type: stop, t: 1h}
"""
