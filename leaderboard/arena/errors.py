"""The arena's refusals: each one an HTTP status and a sentence a voter can act on."""


class ArenaError(Exception):
    status = 400
    code = "bad_request"
    title = "That did not work"
    message = "The request could not be handled."

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message


class InvalidVote(ArenaError):
    code = "invalid_vote"
    title = "Pick one of the four choices"
    message = "A vote is A is better, B is better, Tie or Both are bad."


class MatchupNotFound(ArenaError):
    # Also for matchups served to someone else: a foreign id is as unknown as a forged one.
    status = 404
    code = "unknown_matchup"
    title = "No such matchup"
    message = "This matchup was not served to you. Start a new one."


class MatchupNotVoted(ArenaError):
    status = 403
    code = "not_voted"
    title = "Vote first"
    message = "The models are revealed only after your vote."


class AlreadyVoted(ArenaError):
    status = 409
    code = "already_voted"
    title = "Already voted"
    message = "Your vote on this matchup is already recorded; it counts once."


class MatchupExpired(ArenaError):
    status = 410
    code = "expired"
    title = "This matchup has expired"
    message = "Matchups stay open for a limited time. Here is a fresh one."


class RateLimited(ArenaError):
    status = 429
    code = "rate_limited"
    title = "Slow down a little"
    message = "You are voting faster than we can count. Take a breath and try again shortly."

    def __init__(self, retry_after_s: int, message: str | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ProofRequired(ArenaError):
    # A new voter identity must solve a proof-of-work challenge before its first vote.
    status = 403
    code = "proof_required"
    title = "One quick check first"
    message = (
        "Before your first vote your browser solves a small puzzle (under a second) that "
        "shows a person, not a script, is voting. It needs JavaScript; turn it on and "
        "reload the page."
    )


class ProofInvalid(ArenaError):
    status = 403
    code = "proof_invalid"
    title = "The check did not pass"
    message = "The answer to the voting check was wrong or has expired. Reload the page."
