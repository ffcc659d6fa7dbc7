"""Pairwise's tables: the curated catalog, the arena's facts, the benchmark's samples.

Votes and BenchSamples are append-only facts; ratings and stats are derived
from them and can always be rebuilt. The benchmark runner (bench/, no Django)
writes BenchRun, BenchSample and Generation rows through SQLAlchemy on these
same tables, so column names here are its contract too. One module per concept;
every name is importable from `leaderboard.models`, as Django expects.
"""

from leaderboard.models.api_keys import (
    ApiKey,
    ApiRequest,
)
from leaderboard.models.arena import (
    ArenaRateCounter,
    DetectionState,
    Matchup,
    MatchupKind,
    Vote,
    VoteOutcome,
    VoterExclusion,
    VoterIdentity,
)
from leaderboard.models.benchmark import (
    BenchRun,
    BenchSample,
    OfferingStats,
    SampleSource,
    SampleStatus,
)
from leaderboard.models.catalog import (
    ArenaMode,
    Category,
    Challenge,
    ChallengeReference,
    EndpointKind,
    Generation,
    GenerationPool,
    ImageModel,
    Offering,
    Provider,
    StableSlugModel,
    validate_capabilities,
    validate_pricing_rule,
    validate_size_rules,
)
from leaderboard.models.ratings import (
    Leaderboard,
    PairTally,
    Rating,
    RatingWindow,
    RefreshState,
    VoteCountState,
    VoteDayCount,
)
from leaderboard.models.serving import (
    PlaygroundRun,
    ServingBoard,
    ServingDifference,
    ServingVote,
)

__all__ = [
    "ApiKey",
    "ApiRequest",
    "ArenaMode",
    "ArenaRateCounter",
    "BenchRun",
    "BenchSample",
    "Category",
    "Challenge",
    "ChallengeReference",
    "EndpointKind",
    "Generation",
    "GenerationPool",
    "ImageModel",
    "Leaderboard",
    "Matchup",
    "MatchupKind",
    "Offering",
    "OfferingStats",
    "PlaygroundRun",
    "Provider",
    "PairTally",
    "Rating",
    "RatingWindow",
    "RefreshState",
    "VoteCountState",
    "VoteDayCount",
    "SampleSource",
    "SampleStatus",
    "ServingBoard",
    "ServingDifference",
    "ServingVote",
    "StableSlugModel",
    "Vote",
    "VoteOutcome",
    "DetectionState",
    "VoterExclusion",
    "VoterIdentity",
    "validate_capabilities",
    "validate_pricing_rule",
    "validate_size_rules",
]
