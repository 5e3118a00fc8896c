"""BertLab's BERT configuration for transformers (trust_remote_code=True): Hugging Face's BertConfig plus the
"attention" section that selects the mechanism (bertlab_attention.py)."""
from transformers import BertConfig


class BertLabConfig(BertConfig):
    model_type = "bertlab-bert"

    def __init__(self, attention=None, **kwargs):
        super().__init__(**kwargs)
        self.attention = attention if attention is not None else "softmax"
