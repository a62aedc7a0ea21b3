"""The PoWER-BERT algorithm itself: significance scores, Extract layers, the retention configuration."""
