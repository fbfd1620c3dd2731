# Stand-in for fastsdcpu's models/interface_types.py.
from enum import Enum


class InterfaceType(Enum):
    WEBUI = "Web User Interface"
    GUI = "Graphical User Interface"
    CLI = "Command Line Interface"
