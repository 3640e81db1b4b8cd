"""What the JSON API reads and answers, as marshmallow schemas: requests are validated by them,
answers are shaped by them, and the OpenAPI document is written from them.

Request bodies refuse unknown fields (marshmallow's RAISE): a misspelt field is a 422 that names it,
not a silent no-op. Query strings ignore unknown parameters (EXCLUDE), as links and caches add some.
Lengths and formats that the services check (and the pages share) are documented here, not re-checked.
"""
from collections.abc import Mapping
from typing import Any

from flask import request
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate
from werkzeug.datastructures import FileStorage

from app.auth.services import PASSWORD_MAX_BYTES, PASSWORD_MIN_LENGTH, ROLES
from app.core.pagination import MAX_PAGE_SIZE
from app.core.recent import Recent
from app.core.statuses import PostStatus, UserStatus
from app.moderation.services import REASON_MAX_LENGTH
from app.posts.services import ALT_TEXT_MAX_LENGTH, CAPTION_MAX_LENGTH, MAX_PHOTOS_PER_POST
from app.social.presenter import PresentedPost
from app.social.profiles import BIO_MAX_LENGTH
from app.social.services import COLLECTION_NAME_MAX_LENGTH, COMMENT_MAX_LENGTH

WRITTEN_POSTS = 10_000  # ~2 kB each
MENTIONS_DOC = "Usernames its @mentions name, linked to their profiles (at most 10, active accounts only)"


def string(description: str = "", *, metadata: dict | None = None, **options: Any) -> fields.String:
    return fields.String(metadata={**({"description": description} if description else {}), **(metadata or {})},
                         **options)


def timestamp(**options: Any) -> fields.String:
    """A time as the API writes it, ISO 8601: presenters format it, so the schema keeps the text."""
    return string(metadata={"format": "date-time"}, **options)


def next_cursor() -> fields.String:
    return fields.String(allow_none=True, metadata={"description": "Pass as ?cursor= for the next page; null on the last"})


# Errors

class ErrorBodySchema(Schema):
    code = string("Machine-readable, e.g. validation_error, not_found, unauthorized, rate_limited", required=True)
    message = string("For people", required=True)
    # marshmallow takes declared fields off the class: this one does not hide Schema.fields.
    fields = fields.Dict(keys=fields.String(), values=fields.String(),  # type: ignore[assignment]
                         metadata={"description": "Each bad field (dotted for nested ones) and what is wrong with it"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


# Users

class UserSchema(Schema):
    id = string()
    username = string()
    bio = string()
    created_at = timestamp()


class PrivateUserSchema(UserSchema):
    email = string()
    role = string(validate=validate.OneOf(ROLES))
    email_verified = fields.Boolean(metadata={"description": "Whether the address was proven by its mailed link"})
    pending_email = string("A new address that replaces `email` once its mailed link is opened", allow_none=True)


class ProfileSchema(UserSchema):
    avatar_url = string(allow_none=True)
    follower_count = fields.Integer()
    following_count = fields.Integer()
    followed_by_me = fields.Boolean()


class MeSchema(PrivateUserSchema, ProfileSchema):
    unread_notifications = fields.Integer(metadata={"description": "GET only"})


class UserListSchema(Schema):
    results = fields.List(fields.Nested(UserSchema))
    next_cursor = next_cursor()


class TokensSchema(Schema):
    access_token = string(required=True)
    refresh_token = string(required=True)
    token_type = string(metadata={"example": "Bearer"})
    expires_in = fields.Integer(metadata={"description": "Seconds the access token lasts"})


class MessageSchema(Schema):
    message = string()


class NotificationSchema(Schema):
    id = string()
    kind = string(validate=validate.OneOf(["follow", "like", "comment", "mention"]))
    read = fields.Boolean()
    actor = string("Username of who did it", allow_none=True)
    text = string()
    post_id = string(allow_none=True)
    created_at = timestamp()


class NotificationListSchema(Schema):
    results = fields.List(fields.Nested(NotificationSchema))
    next_cursor = next_cursor()
    unread = fields.Integer()


# Posts and comments

class AuthorSchema(Schema):
    id = string()
    username = string()
    avatar_url = string(allow_none=True)


class PhotoUrlsSchema(Schema):
    original = string()
    large = string()
    thumb = string()


class PhotoSchema(Schema):
    urls = fields.Nested(PhotoUrlsSchema)
    width = fields.Integer()
    height = fields.Integer()
    format = string()
    bytes = fields.Integer()
    taken_at = timestamp(allow_none=True)


class TagSchema(Schema):
    name = string()
    score = fields.Float()


class PostSchema(Schema):
    id = string(required=True)
    status = string(required=True, validate=validate.OneOf(PostStatus))
    author = fields.Nested(AuthorSchema, allow_none=True, metadata={"description": "null when posted anonymously"})
    caption = string()
    alt_text = string()
    alt_text_source = string(allow_none=True, validate=validate.OneOf(["generated", "author"]))
    tags = fields.List(fields.Nested(TagSchema), metadata={"description": "Generated by the enrichment models"})
    hashtags = fields.List(fields.String())
    mentions = fields.List(fields.String(), metadata={"description": MENTIONS_DOC})
    created_at = timestamp()
    updated_at = timestamp()
    photos = fields.List(fields.Nested(PhotoSchema), required=True)
    enrichment = string(required=True, validate=validate.OneOf(["pending", "done", "failed"]))
    like_count = fields.Integer()
    comment_count = fields.Integer()
    liked_by_me = fields.Boolean()
    saved_by_me = fields.Boolean()


class ScoredPostSchema(PostSchema):
    score = fields.Float(metadata={"description": "How well the post matches; higher is better"})


class KeptPost(fields.Nested):
    """A post of a list, as PostSchema writes it. The same stored revision with the same marks for
    the viewer is always written the same way, so each process keeps what it wrote: writing twenty
    posts field by field was a third of an API feed page's web time. A post changed in memory (not
    as stored) is written afresh."""

    _written: Recent[tuple, dict] = Recent(WRITTEN_POSTS)

    # (marshmallow's Field and Nested name the first parameter differently: no signature satisfies both)
    def _serialize(self, nested_obj: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        stored_as = nested_obj.stored_as if isinstance(nested_obj, PresentedPost) else None
        if stored_as is None:
            return super()._serialize(nested_obj, attr, obj, **kwargs)
        key = (self.nested, *stored_as, request.script_root, nested_obj.get("liked_by_me"), nested_obj.get("saved_by_me"))
        written = self._written.get(key)
        if written is None:
            written = super()._serialize(nested_obj, attr, obj, **kwargs)
            self._written.put(key, written)
        return dict(written)  # the answer's own: what is kept stays as written


class PostListSchema(Schema):
    results = fields.List(KeptPost(PostSchema), required=True)
    next_cursor = next_cursor()


class ScoredPostListSchema(PostListSchema):
    results = fields.List(fields.Nested(ScoredPostSchema), required=True)


class CommentSchema(Schema):
    id = string()
    post_id = string()
    author = fields.Nested(AuthorSchema, allow_none=True)
    text = string()
    mentions = fields.List(fields.String(), metadata={"description": MENTIONS_DOC})
    created_at = timestamp()


class CommentListSchema(Schema):
    results = fields.List(fields.Nested(CommentSchema))
    next_cursor = next_cursor()


class SavedSchema(Schema):
    saved = fields.Boolean()


class CollectionSchema(Schema):
    name = string()
    count = fields.Integer()


class CollectionListSchema(Schema):
    results = fields.List(fields.Nested(CollectionSchema))


class AnonymousStatusSchema(Schema):
    id = string()
    status = string(validate=validate.OneOf(PostStatus))
    state = string(validate=validate.OneOf(["waiting for review", "approved", "rejected"]))
    reason = string("Why it was rejected", allow_none=True)
    created_at = timestamp()


class AnonymousPostSchema(Schema):
    post = fields.Nested(PostSchema)
    status_token = string("The uploader's only key to the post: keep it secret")
    status_url = string("The status page")


# Moderation and administration

class ReportCountSchema(Schema):
    reports = fields.Integer(metadata={"description": "Open reports on the item, yours included"})


class ReasonCountSchema(Schema):
    reason = string()
    count = fields.Integer()


class QueueEntrySchema(Schema):
    type = string(validate=validate.OneOf(["post", "comment"]))
    item = fields.Dict(metadata={"description": "The post or the comment, as their own routes answer them",
                                 "oneOf": [{"$ref": "#/components/schemas/Post"},
                                           {"$ref": "#/components/schemas/Comment"}]})
    nsfw = fields.Float(allow_none=True)
    generated_caption = string(allow_none=True)
    status = string("The post's status; a comment is hidden or published", validate=validate.OneOf(PostStatus))
    report_count = fields.Integer()
    report_reasons = fields.List(fields.Nested(ReasonCountSchema))


class QueueSchema(Schema):
    results = fields.List(fields.Nested(QueueEntrySchema))
    sort = string(validate=validate.OneOf(["age", "nsfw"]))


class DecisionSchema(Schema):
    decision = string(validate=validate.OneOf(["approve", "reject"]))


class AccountSchema(PrivateUserSchema):
    status = string(validate=validate.OneOf(UserStatus))


class AccountListSchema(Schema):
    results = fields.List(fields.Nested(AccountSchema))
    next_cursor = next_cursor()


class AuditEntrySchema(Schema):
    id = string()
    at = timestamp()
    action = string()
    actor = string("Username, or 'system'")
    target_type = string()
    target_id = string()
    reason = string()
    before = fields.Dict()
    after = fields.Dict()


class AuditListSchema(Schema):
    results = fields.List(fields.Nested(AuditEntrySchema))
    next_cursor = next_cursor()


# Requests

def page_limit(default: int = 20) -> fields.Integer:
    return fields.Integer(metadata={"description": f"Page size, 1 to {MAX_PAGE_SIZE} (larger asks get {MAX_PAGE_SIZE})",
                                    "default": default})


class PageQuery(Schema):
    cursor = string("next_cursor from the previous page")
    limit = page_limit()


class SearchQuery(PageQuery):
    q = string("Words to look for, #hashtags, tags or @usernames", required=True,
               validate=validate.Regexp(r"\s*\S", error="Say what to look for."),
               error_messages={"required": "Say what to look for."})


class SimilarQuery(Schema):
    limit = page_limit(12)


class SignupBody(Schema):
    username = string("3 to 30 letters, digits or _", required=True)
    email = string(required=True, metadata={"format": "email"})
    password = string(f"At least {PASSWORD_MIN_LENGTH} characters, at most {PASSWORD_MAX_BYTES} bytes", required=True)


class LoginBody(Schema):
    login = string("Username or email", required=True)
    password = string(required=True)


class EmailBody(Schema):
    email = string(required=True)


class PasswordResetBody(Schema):
    token = string("From the mailed link", required=True)
    password = string(f"At least {PASSWORD_MIN_LENGTH} characters, at most {PASSWORD_MAX_BYTES} bytes", required=True)


class BioBody(Schema):
    bio = string(f"At most {BIO_MAX_LENGTH} characters", required=True)


class PostChanges(Schema):
    caption = string(f"At most {CAPTION_MAX_LENGTH} characters; its #hashtags are indexed")
    alt_text = string(f"At most {ALT_TEXT_MAX_LENGTH} characters")
    remove_tags = fields.List(fields.String(), metadata={"description": "Names of generated tags to drop"})


class CommentBody(Schema):
    text = string(f"1 to {COMMENT_MAX_LENGTH} characters", required=True)


class SaveBody(Schema):
    collection = string(f"1 to {COLLECTION_NAME_MAX_LENGTH} characters; default 'Saved'", allow_none=True)


class CollectionQuery(Schema):
    collection = string("Default 'Saved'")


class ReasonBody(Schema):
    reason = string(f"At most {REASON_MAX_LENGTH} characters", required=True)


class OptionalReasonBody(Schema):
    reason = string(f"At most {REASON_MAX_LENGTH} characters", allow_none=True)


class QueueQuery(Schema):
    sort = string("Oldest first (age) or most likely NSFW first", validate=validate.OneOf(["age", "nsfw"]),
                  load_default="age")


class AccountQuery(PageQuery):
    q = string("Part of a username or email", load_default="")


class AuditQuery(PageQuery):
    action = string("Only this action")
    actor = string("Only this actor's username")


class PhotoFile(Upload):
    """One file of a multipart body; a text field in its place is refused."""

    default_error_messages = {"invalid": "Not a file."}

    def _deserialize(self, value: object, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> FileStorage:
        if not isinstance(value, FileStorage):
            raise self.make_error("invalid")
        return value


class PhotoUpload(Schema):
    photos: fields.List[FileStorage] = fields.List(PhotoFile(), required=True,
                         metadata={"description": f"1 to {MAX_PHOTOS_PER_POST} JPEG, PNG, WebP or HEIC photos"})
    caption = string(f"At most {CAPTION_MAX_LENGTH} characters", load_default="")


class AvatarUpload(Schema):
    photos: fields.List[FileStorage] = fields.List(PhotoFile(), required=True,
                         metadata={"description": "Exactly one photo"})


# Account security: change password, active sessions

class PasswordChangeBody(Schema):
    current_password = string("The password now; a wrong one counts as a failed sign-in", required=True)
    new_password = string(f"At least {PASSWORD_MIN_LENGTH} characters, at most {PASSWORD_MAX_BYTES} bytes", required=True)


class SessionSchema(Schema):
    """One signed-in device; last_seen_at is updated at most every few minutes."""

    id = string("Pass to DELETE /me/sessions/{id}")
    device = string("From the User-Agent, e.g. 'Firefox on Linux', 'curl'", metadata={"example": "Firefox on Linux"})
    ip = string("Address it signed in from")
    created_at = timestamp()
    last_seen_at = timestamp()
    current = fields.Boolean(metadata={"description": "The session of the token asking"})


class SessionListSchema(Schema):
    results = fields.List(fields.Nested(SessionSchema))


# Block and mute (issue 20, items 4 and 5)

class RelatedProfileSchema(ProfileSchema):
    blocked_by_me = fields.Boolean()
    muted_by_me = fields.Boolean()
    private = fields.Boolean(metadata={"description": "A private account's posts are for approved followers"})
    requested_by_me = fields.Boolean(metadata={"description": "You asked to follow this private account"})


# Private accounts (issue 20, item 5)

class PrivacyBody(Schema):
    private = fields.Boolean(required=True)


class PrivacySchema(Schema):
    private = fields.Boolean()


# Account deletion

class AccountDeletionBody(Schema):
    password = string("The account's password, asked again", required=True)


class AccountDeletionSchema(Schema):
    status = string("The account's status: deleting until the job has removed it, then it is gone",
                    validate=validate.OneOf([UserStatus.DELETING]))


# Download my data

class ExportSchema(Schema):
    state = string("none (never asked), preparing, ready or failed",
                   validate=validate.OneOf(["none", "preparing", "ready", "failed"]))
    done = fields.Integer(metadata={"description": "Photos put in the zip so far"})
    total = fields.Integer(allow_none=True, metadata={"description": "Photos the zip will hold (null until counted)"})
    download_url = string("The zip, for its owner only (null until ready)", allow_none=True)
    expires_at = timestamp(allow_none=True)  # when the zip is deleted: a day after it is ready
# Email verification

class VerifyBody(Schema):
    token = string("From the mailed link", required=True)


class EmailChangeBody(Schema):
    email = string("The new address; it takes effect once its mailed link is opened", required=True,
                   metadata={"format": "email"})
    password = string("The current password", required=True)
