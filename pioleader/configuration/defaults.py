"""The shared ``config.ini`` a new data directory starts with.

Section and key names are Pioreactor's, so that jobs, plugins and the official UI find what they
look for. Values are chosen for the simulated cluster on one machine; a lab edits them through
``PATCH /api/config/shared`` or by hand.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopologyDefaults:
    leader_hostname: str = "leader"
    leader_address: str = "127.0.0.1"
    http_port: int = 4999
    mqtt_port: int = 1883
    mqtt_ws_port: int = 9001


def default_shared_config(topology: TopologyDefaults) -> str:
    """The text of a fresh shared ``config.ini``."""
    return f"""\
# Shared configuration of the cluster: every unit reads this file, and its own
# unit_config.ini on top of it. Edit through the API (PATCH /api/config/shared) so that
# every unit gets the change and the history keeps the old version.

[cluster.topology]
leader_hostname={topology.leader_hostname}
leader_address={topology.leader_address}

[cluster.addresses]
# <unit>=<address>[:<port>] for each unit that is not reachable as <unit>.local on [ui] port.

[ui]
port={topology.http_port}
proto=http

[mqtt]
broker_address={topology.leader_address}
broker_port={topology.mqtt_port}
broker_ws_port={topology.mqtt_ws_port}
ws_protocol=ws
username=
password=
use_tls=0

[storage]
# Relative paths are relative to the data directory.
database=storage/pioreactor.sqlite
temporary_cache=storage/local_intermittent_pioreactor_metadata.sqlite
persistent_cache=storage/local_persistent_pioreactor_metadata.sqlite

[logging]
log_file=logs/pioreactor.log
ui_log_file=logs/pioreactor.log
ui_log_level=INFO
console_log_level=INFO

[PWM]
# Which device is plugged into each PWM channel.
1=stirring
2=waste
3=media
4=alt_media
5=heating

[leds]
A=IR
B=white_light
C=
D=

[bioreactor]
# The volume that just touches the efflux tube: where waste removal stops.
efflux_tube_volume_ml=14
initial_volume_ml=14
initial_alt_media_fraction=0.0
initial_cumulative_media_added_ml=0
initial_cumulative_alt_media_added_ml=0
initial_cumulative_waste_removed_ml=0

[stirring.config]
initial_target_rpm=500
initial_duty_cycle=15
pwm_hz=200
use_rpm=True
duration_between_updates_seconds=23
post_delay_duration=0.25
pre_delay_duration=0.25
enable_dodging_od=False
target_rpm_during_od_reading=0
target_rpm_outside_od_reading=500

[stirring.pid]
Kp=0.007
Ki=0.0
Kd=0.0

[od_config.photodiode_channel]
1=REF
2=90
3=
4=

[od_reading.config]
samples_per_second=0.2
turn_off_leds_during_reading=1
pd_reference_ema=0.4
ir_led_intensity=80
duration_between_led_off_and_od_reading=0.1
smoothing_penalizer=6.0
use_dark_offsets=1

[growth_rate_calculating.config]
ekf_outlier_std_threshold=3.0
samples_for_od_statistics=10

[dosing_automation.config]
pause_between_subdoses_seconds=0.5
waste_removal_multiplier=2.0
max_volume_to_warn=17.0
max_volume_to_stop=18.0
max_subdose=1.0

[dosing_automation.turbidostat]
biomass_signal=auto

[dosing_automation.pid_morbidostat]
Kp=5
Ki=0
Kd=0

[temperature_automation.thermostat]
Kp=2.6
Ki=0.0
Kd=4.6

[temperature_automation.config]
# How often the temperature is read and the automation runs.
seconds_between_readings=225

[simulation]
# How much faster than the wall clock simulated cultures grow (timestamps stay wall-clock);
# growth rates are per wall-clock hour, so they come out this many times larger.
speedup=3

[pumps]
# mL per second of each pump at 100 % duty cycle, used to turn volumes into run times until
# the pump is calibrated.
media_ml_per_second=0.75
alt_media_ml_per_second=0.75
waste_ml_per_second=0.75

[ui.overview.settings]
filtered_od_lookback_minutes=240
raw_od_lookback_minutes=240
log_display_count=65
time_display_mode=hours

[ui.overview.charts]
implied_growth_rate=1
implied_daily_growth_rate=0
fraction_of_volume_that_is_alternative_media=1
normalized_optical_density=1
raw_optical_density=1
temperature=1
optical_density=1

[ui.overview.cards]
dosings=1
event_logs=1
profiles=1

[pioleader]
# How long finished task results stay available at /unit_api/task_results/<id>.
task_result_ttl_hours=168
# How long finished exports stay in <data dir>/exports before they are removed.
export_retention_hours=24
# Per-unit timeouts, in seconds, of the leader's requests to units.
unit_read_timeout_seconds=5
unit_write_timeout_seconds=2
unit_task_timeout_seconds=30
# How often, in seconds, the leader sends the shared config again to workers that missed a
# change (they were off or unreachable); 0: never.
config_sync_interval_seconds=10
# How many chart points the leader keeps in memory between requests (about 100 bytes each).
time_series_cache_points=400000
# Browser pages allowed to change state here besides the leader's own (comma-separated
# origins such as http://lab-dashboard.local:8080); they also get CORS headers.
allowed_origins=
# Largest JSON body and largest multipart upload accepted, in bytes.
max_body_bytes=4194304
max_upload_bytes=1073741824
# Set a long random key to require it on every /api, /unit_api and /exports request
# ("Authorization: Bearer <key>", or Basic with the key as password); empty: no authentication.
api_key=
# A web UI build to serve (the folder with its index.html, e.g. pioreactor/web/static of the
# pioreactor wheel): files under /static/, index.html for every other page. Empty: API only.
ui_dir=
"""


DEFAULT_UNIT_CONFIG = """\
# Settings of this unit only; they override the shared config.ini.
"""
