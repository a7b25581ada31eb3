<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** -33001: the service behind the channel cannot be reached. */
class ChannelConnectionError extends ChannelError
{
    public function __construct(string $message)
    {
        parent::__construct($message, ErrorCodes::CHANNEL_CONNECTION);
    }
}
