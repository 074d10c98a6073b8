"""What the site keeps in its database."""

from django.db import models

# --- The owner's Trakt sign-in (profile/auth.py) -------------------------------------------------


class TraktToken(models.Model):
    """The owner's Trakt sign-in: at most one row (id 1), written by `profile.auth` only.

    Both tokens are encrypted with a key derived from SECRET_KEY (`auth.seal`): the database
    alone does not give them away. `generation` grows by one with every new pair, and the
    lease (`renewing_until`) lets exactly one caller renew a given generation.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    access_token_encrypted = models.TextField()
    refresh_token_encrypted = models.TextField()
    # From the token answer's created_at and expires_in, never from a fixed lifetime.
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    # Whose token: /users/me when it was signed in ("" if Trakt did not say).
    user_slug = models.CharField(max_length=200, blank=True)
    user_name = models.CharField(max_length=1000, blank=True)
    signed_in_at = models.DateTimeField()
    renewed_at = models.DateTimeField(null=True, blank=True)
    generation = models.PositiveBigIntegerField(default=1)
    # The lease: while in the future, one caller is renewing this generation.
    renewing_until = models.DateTimeField(null=True, blank=True)
    # After a renewal failed for a passing reason (Trakt down), none is tried before this.
    next_renewal_at = models.DateTimeField(null=True, blank=True)
    renewal_failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Trakt refused to renew (invalid_grant), or the tokens cannot be decrypted: the site no
    # longer calls Trakt with them, until the owner signs in again.
    signed_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="one_trakt_token")]

    def __str__(self) -> str:  # never the tokens
        return f"Trakt sign-in of @{self.user_slug or '?'} (generation {self.generation})"

    @property
    def signed_out(self) -> bool:
        return self.signed_out_at is not None


class TraktRateLimit(models.Model):
    """The last `X-Ratelimit` Trakt sent, for `manage.py trakt_status` in another process.

    One row (id 1), written at most about once a minute (`auth.remember_rate_limit`).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    name = models.CharField(max_length=64, blank=True)
    limit = models.PositiveBigIntegerField()
    remaining = models.PositiveBigIntegerField()
    period = models.PositiveIntegerField(null=True, blank=True)
    until = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="one_trakt_rate_limit")
        ]

    def __str__(self) -> str:
        return f"{self.remaining} of {self.limit} Trakt calls left ({self.name})"
