"""The catalog's blueprints, registered by the app factory."""

from slippers.catalog.routes_categories import blp as categories_blp
from slippers.catalog.routes_images import blp as images_blp
from slippers.catalog.routes_images import uploads_blp
from slippers.catalog.routes_slippers import blp as slippers_blp

blueprints = [categories_blp, slippers_blp, images_blp, uploads_blp]
