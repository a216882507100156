"""What accounts tells the rest of the project.

``organization_setup_ready`` is sent after a commit that completes an organization's set-up (FIRS
settings FIRS accepted, and the seller's address FIRS requires), so sales that waited for it can
be invoiced. Keyword argument: ``organization``.
"""

from django.dispatch import Signal

organization_setup_ready = Signal()
