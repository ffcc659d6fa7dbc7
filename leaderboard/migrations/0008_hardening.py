# The gateway's per-key rate limit becomes a token bucket: one timestamp replaces the
# fixed window and its counter (a full burst on each side of a window edge got through).
# The arena's counters count slices of a sliding window (help text only).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("leaderboard", "0007_gateway_api_keys"),
    ]

    operations = [
        migrations.RemoveField(model_name="apikey", name="rate_window"),
        migrations.RemoveField(model_name="apikey", name="rate_window_requests"),
        migrations.AddField(
            model_name="apikey",
            name="rate_full_at_ms",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.AlterField(
            model_name="arenaratecounter",
            name="bucket",
            field=models.BigIntegerField(help_text="Slice number: unix time // (window / 6)"),
        ),
    ]
