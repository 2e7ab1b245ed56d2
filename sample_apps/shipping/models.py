from django.db import models


class Carrier(models.Model):
    name = models.CharField(max_length=100, unique=True)
    tracking_url_template = models.CharField(
        max_length=200,
        blank=True,
        help_text="Tracking page URL, with {number} where the tracking number goes.",
    )

    def __str__(self):
        return self.name


class Shipment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_TRANSIT = "in_transit", "In transit"
        DELIVERED = "delivered", "Delivered"
        RETURNED = "returned", "Returned"

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="shipments"
    )
    carrier = models.ForeignKey(
        Carrier, on_delete=models.PROTECT, related_name="shipments"
    )
    tracking_number = models.CharField(max_length=64, blank=True)
    gift_wrap = models.BooleanField(
        default=False, help_text="Copied from the order when the shipment is created."
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Shipment {self.pk} for order {self.order_id}"
