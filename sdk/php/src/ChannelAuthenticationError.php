<?php

declare(strict_types=1);

namespace Nexo\Plugin\Sdk;

/** -33002: the service refused the channel's credentials. */
class ChannelAuthenticationError extends ChannelError
{
    public function __construct(string $message)
    {
        parent::__construct($message, ErrorCodes::CHANNEL_AUTHENTICATION);
    }
}
