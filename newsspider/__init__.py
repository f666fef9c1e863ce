"""newsspider: a Scrapy crawler that keeps a Hexo Markdown archive of Sina Finance articles."""
