"""Flask extension objects, created here once and bound in create_app."""
import time

from flask_jwt_extended import JWTManager
from flask_jwt_extended.config import config as jwt_config
from flask_mail import Mail

from app.core.recent import Recent

REMEMBERED_TOKENS = 10_000  # verified tokens, ~1 kB each


class RememberingJWTManager(JWTManager):
    """flask-jwt-extended reads a token three times per check (its claims unverified, its header,
    then verified): 0.35 ms of every signed-in request. A token that verified is remembered until
    it expires, per signing key: the same bytes under the same key verify the same way. What may
    change (whether its session still lives) is checked on every request all the same, by the
    blocklist and user loaders."""

    def __init__(self) -> None:
        super().__init__()
        self._verified: Recent[tuple[str, str], dict] = Recent(REMEMBERED_TOKENS)

    def _decode_jwt_from_config(self, encoded_token: str, csrf_value: str | None = None, allow_expired: bool = False) -> dict:
        if csrf_value is not None or allow_expired:  # checks we never remember
            return super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
        key = (jwt_config.decode_key, encoded_token)
        claims = self._verified.get(key)
        if claims is None or claims["exp"] <= time.time():
            claims = super()._decode_jwt_from_config(encoded_token)
            if "exp" not in claims:  # every token Glimpse signs expires; one that does not is not kept
                return claims
            self._verified.put(key, claims)
        return dict(claims)  # the caller's own copy: the remembered claims stay as verified


jwt = RememberingJWTManager()
mail = Mail()
