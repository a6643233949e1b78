"""The portal's tables, one module per feature; `from portal.models import X` finds any of them.

Queries are named methods on the models, so views and services never write SQL of their own.
"""

from portal.models.accounts import AccountStatus, DuplicateHandle, MetaGrant, SocialAccount
from portal.models.base import BaseModel, SchemaVersion
from portal.models.campaigns import (
    CAMPAIGN_MODELS,
    ROLLUP_MODELS,
    Campaign,
    CampaignCreator,
    RecentFigures,
    RecentSpan,
    ReportLink,
)
from portal.models.compliance import COMPLIANCE_MODELS, DeletionRequest, LedgerEntry
from portal.models.creators import Creator, CreatorImport, hash_link_token
from portal.models.insights import (
    INSIGHT_MODELS,
    AccountMetric,
    AudienceSnapshot,
    Media,
    MediaMetric,
    ProfileSnapshot,
    Story,
    StoryMetric,
)
from portal.models.mail import MAIL_MODELS, MailJob, OutgoingMessage
from portal.models.reminders import REMINDER_MODELS, ReminderSchedule, ReminderSent, ReminderTemplate
from portal.models.report_version import ReportVersion
from portal.models.sandbox import SandboxSpentCode
from portal.models.settings import InvitationTemplate
from portal.models.staff import Staff

MODELS = [
    Staff,
    Creator,
    MetaGrant,
    SocialAccount,
    InvitationTemplate,
    CreatorImport,
    *INSIGHT_MODELS,
    *COMPLIANCE_MODELS,
    *CAMPAIGN_MODELS,
    *ROLLUP_MODELS,
    *MAIL_MODELS,
    SandboxSpentCode,
    *REMINDER_MODELS,
    ReportVersion,
]

__all__ = [
    "CAMPAIGN_MODELS",
    "COMPLIANCE_MODELS",
    "INSIGHT_MODELS",
    "MAIL_MODELS",
    "MODELS",
    "REMINDER_MODELS",
    "ROLLUP_MODELS",
    "RecentFigures",
    "RecentSpan",
    "AccountMetric",
    "AccountStatus",
    "AudienceSnapshot",
    "BaseModel",
    "Campaign",
    "CampaignCreator",
    "Creator",
    "CreatorImport",
    "DeletionRequest",
    "DuplicateHandle",
    "InvitationTemplate",
    "LedgerEntry",
    "MailJob",
    "Media",
    "MediaMetric",
    "MetaGrant",
    "OutgoingMessage",
    "ProfileSnapshot",
    "ReminderSchedule",
    "ReminderSent",
    "ReportVersion",
    "ReminderTemplate",
    "ReportLink",
    "SandboxSpentCode",
    "SchemaVersion",
    "SocialAccount",
    "Staff",
    "Story",
    "StoryMetric",
    "hash_link_token",
]
