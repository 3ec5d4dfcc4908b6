"""One error hierarchy. Each surface turns these into a user message in one place."""


class SmsChatError(Exception):
    """Base of every error the service layer raises on purpose."""

    #: HTTP status the webhooks app answers with for this error.
    http_status = 400


class ValidationError(SmsChatError):
    """Input that is not acceptable (empty message, bad setting...)."""


class MessageTooLong(ValidationError):
    pass


class EmptyMessage(ValidationError):
    pass


class InvalidPhoneNumber(ValidationError):
    pass


class PhoneNumberInUse(ValidationError):
    pass


class OptedOut(ValidationError):
    """The number replied STOP: nothing is sent to it until it replies START."""


class NumberBlocked(ValidationError):
    """A carrier said the number is invalid, not mobile or a landline: nothing is sent to it."""


class NotFound(SmsChatError):
    http_status = 404


class ContactNotFound(NotFound):
    pass


class ProjectNotFound(NotFound):
    pass


class MessageNotFound(NotFound):
    pass


class UserNotFound(NotFound):
    pass


class AuthError(SmsChatError):
    """Login failed. The message never says whether the user exists."""

    http_status = 401


class LoginThrottled(AuthError):
    """Too many failed logins for this account (from here): try again after `retry_after` seconds."""

    http_status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class PermissionDenied(SmsChatError):
    http_status = 403


class NeedsWebUser(PermissionDenied):
    """The operator passes every role check, but has no read markers, presence or chat name."""


class ConfigError(SmsChatError):
    """A missing or contradictory setting; the message names the variable."""


class GatewayError(SmsChatError):
    http_status = 502


class AlreadyAssigned(SmsChatError):
    """Someone else changed a conversation's assignee first: nothing was changed."""

    http_status = 409
