"""A backbone registered outside hyperstar, as a user's package would: importing this module registers it."""

from hyperstar.models import create_backbone, list_backbones, register_backbone

if "users_tinynet" not in list_backbones():
    @register_backbone("users_tinynet")
    def users_tinynet(num_classes=10, weights=None, in_channels=3):
        return create_backbone("smallcnn_tiny", num_classes=num_classes, weights=weights, in_channels=in_channels)
