"""Pioreactor-format configuration files: the shared ``config.ini`` and each unit's
``unit_config.ini``, with the defaults written on first start."""

from pioleader.configuration.files import ConfigFiles, UnitAddress, parse_unit_address

__all__ = ["ConfigFiles", "UnitAddress", "parse_unit_address"]
