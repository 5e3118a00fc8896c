"""BertLab's BERT for transformers (loaded with trust_remote_code=True): Hugging Face's BERT classes with every
layer's self-attention replaced by BertLabSelfAttention (bertlab_attention.py, PyTorch only), so the model computes
the attention it was trained with instead of softmax."""
from transformers import BertForMaskedLM, BertForSequenceClassification, BertModel

from .bertlab_attention import BertLabSelfAttention
from .configuration_bertlab import BertLabConfig


def _replace_attention(bert, config):
    for layer in bert.encoder.layer:
        layer.attention.self = BertLabSelfAttention(config.hidden_size, config.num_attention_heads, config.attention)


def _eager(config):
    # BertLabSelfAttention takes transformers' padding mask, not an sdpa/flash kernel's
    try:
        config._attn_implementation = "eager"
    except Exception:
        pass


class BertLabModel(BertModel):
    config_class = BertLabConfig

    def __init__(self, config, add_pooling_layer=True):
        _eager(config)
        super().__init__(config, add_pooling_layer=add_pooling_layer)
        _replace_attention(self, config)
        self.post_init()


class BertLabForMaskedLM(BertForMaskedLM):
    config_class = BertLabConfig

    def __init__(self, config):
        _eager(config)
        super().__init__(config)
        _replace_attention(self.bert, config)
        self.post_init()


class BertLabForSequenceClassification(BertForSequenceClassification):
    config_class = BertLabConfig

    def __init__(self, config):
        _eager(config)
        super().__init__(config)
        _replace_attention(self.bert, config)
        self.post_init()
