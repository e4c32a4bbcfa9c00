from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_inbound_sms"),
    ]

    operations = [
        migrations.AddField(
            model_name="preference",
            name="email_valid",
            field=models.BooleanField(default=True, verbose_name="e-mail address valid"),
        ),
        migrations.AddField(
            model_name="preference",
            name="email_invalid_reason",
            field=models.CharField(
                blank=True, max_length=300, verbose_name="why the e-mail address is invalid"
            ),
        ),
        migrations.AddField(
            model_name="preference",
            name="email_invalid_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
